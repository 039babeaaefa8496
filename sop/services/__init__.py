"""SOP and quality services. They flush; the request (or task, or CLI command) commits once."""
