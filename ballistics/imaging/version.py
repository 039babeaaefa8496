"""Version of the features and scores; bump it whenever either would change."""

#: Changes whenever preprocessing, signature, comparison or calibration would change results.
ALGORITHM_VERSION = "cmc-2.0.0"
