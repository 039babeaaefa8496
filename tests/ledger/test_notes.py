"""Known-answer tests for C2SP signed notes, checkpoints and cosignatures.

Ed25519 is deterministic (RFC 8032), so signing a published text with a published key must
reproduce the published signature byte for byte. Sources:
- C2SP signed-note, tlog-checkpoint, tlog-cosignature and tlog-witness specifications
  (github.com/C2SP/C2SP @ 5ba5ee8): the example verifier key and note, example lines.
- golang.org/x/mod/sumdb/note/note_test.go (the reference implementation): PeterNeumann and
  EnochRoot keys, TestSign's exact output, TestOpen's signatures and malformed notes.
- sigsum-go pkg/checkpoint/checkpoint_test.go: a checkpoint and a cosignature/v1 line made
  with the private key {17, 0, ...}; the sum.golang.org checkpoint of 2024-09-23 with the Go
  checksum database key.
- transparency-dev/formats note/note_cosigv1_test.go and transparency-dev/distributor
  distributor_test.go: verifier keys (types 0x01 and 0x04) and signer/verifier key pairs.
"""

from __future__ import annotations

import base64

import pytest

from ballistics.ledger import checkpoints, notes

EM = "\u2014"

# signed-note, "Verifier keys", Example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n"
             f"{EM} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZ"
             "XsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")

# golang.org/x/mod/sumdb/note tests.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
PETER_SIG = (f"{EM} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
             "vqfqdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = (f"{EM} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o"
             "OTGwnWLox33WWd1RvMc+QQ=\n")

# sigsum-go: crypto.PrivateKey{17} is the Ed25519 seed 0x11 followed by 31 zero bytes.
SIGSUM_SEED = bytes([17]) + bytes(31)
SIGSUM_BODY = "example.org/log\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
SIGSUM_COSIG = (f"{EM} example.org/witness ys8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63Vqir"
                "X2hafol9RsqNqbofIz0LVRqHXI2kpEBSki5RTXFtxz1vo9+Cg==\n")
SIGSUM_ORIGIN = ("sigsum.org/v1/tree/"
                 "e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69")
SIGSUM_CHECKPOINT = (f"{SIGSUM_ORIGIN}\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
                     f"{EM} {SIGSUM_ORIGIN} gJ2ho0n8F8olcerUF1FFdv235A/5as/coWrpLrtE7ovMeP5whgwouY"
                     "ExowG/lTznxu6OUGjjt5yJQ6bXtTcf718MqAQ=\n")
GO_SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
GO_SUMDB_CHECKPOINT = (
    "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n\n"
    f"{EM} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlW"
    "FJJYle3EJlDCrQ+y3A8=\n")


def test_spec_example_note_verifies():
    verifier = notes.parse_verifier_key(SPEC_VKEY)
    assert verifier.vkey() == SPEC_VKEY
    opened = notes.open_note(SPEC_NOTE.encode(), [verifier])
    assert opened.text == "This is an example message.\n"
    assert [s.name for s, _ in opened.verified] == ["example.com/foo"]


def test_go_reference_signature_is_reproduced_exactly():
    signer = notes.parse_signer_key(GO_SKEY)
    assert signer.verifier().vkey() == GO_VKEY
    assert signer.skey() == GO_SKEY
    assert notes.sign_note(GO_TEXT, [signer]).encode().decode() == GO_TEXT + "\n" + PETER_SIG
    # An existing signature by the same key is replaced, not duplicated (Go TestSign).
    stale = notes.Signature("PeterNeumann", 0xC74F20A3, b"BADSIGN")
    again = notes.sign_note(GO_TEXT, [signer], existing=[stale])
    assert again.encode().decode() == GO_TEXT + "\n" + PETER_SIG


def test_go_open_semantics():
    peter, enoch = notes.parse_verifier_key(GO_VKEY), notes.parse_verifier_key(ENOCH_VKEY)
    msg = (GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    one = notes.open_note(msg, [peter])
    assert one.text == GO_TEXT
    assert [s.name for s, _ in one.verified] == ["PeterNeumann"]
    assert [(s.name, s.key_id) for s in one.unverified] == [("EnochRoot", 0xAF0CFE78)]
    both = notes.open_note(msg, [peter, enoch])
    assert [s.name for s, _ in both.verified] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(notes.UnverifiedNote):
        notes.open_note(msg, [])
    with pytest.raises(notes.NoteError, match="ambiguous"):
        notes.open_note((GO_TEXT + "\n" + ENOCH_SIG).encode(), [enoch, peter, enoch])
    notes.open_note((GO_TEXT + "\n" + PETER_SIG).encode(), [enoch, peter, enoch])
    # A known key whose signature fails refuses the whole note.
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(notes.InvalidSignature, match="PeterNeumann\\+c74f20a3"):
        notes.open_note((GO_TEXT + "\n" + bad).encode(), [peter])
    # Repeated signatures count once; a bad signature from an unknown key is ignored.
    enoch_bad = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    many = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_bad
    opened = notes.open_note(many.encode(), [peter])
    assert len(opened.verified) == 1 and len(opened.unverified) == 2


@pytest.mark.parametrize("msg", [
    GO_TEXT,
    GO_TEXT + "\n",
    GO_TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + GO_TEXT + "\n" + PETER_SIG,
    GO_TEXT + "\n" + f"{EM} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
    GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    GO_TEXT + "\n" + PETER_SIG * 101,
])
def test_go_malformed_notes(msg):
    with pytest.raises(notes.MalformedNote):
        notes.open_note(msg.encode(), [notes.parse_verifier_key(GO_VKEY)])


def test_non_canonical_base64_is_malformed():
    # "...JnAM=" and "...JnAN=" decode to the same bytes (only pad bits differ); accepting both
    # would let a note change without any check noticing.
    assert PETER_SIG.endswith("JnAM=\n")
    twin = PETER_SIG.replace("JnAM=", "JnAN=")
    with pytest.raises(notes.MalformedNote, match="canonical"):
        notes.parse_note((GO_TEXT + "\n" + twin).encode())


def test_invalid_utf8_is_malformed():
    with pytest.raises(notes.MalformedNote, match="UTF-8"):
        notes.parse_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode())


def test_every_mangled_key_is_refused():
    # Go TestNewVerifier / TestNewSigner: every proper substring and every one-byte change fails.
    for key, parse in ((GO_VKEY, notes.parse_verifier_key), (GO_SKEY, notes.parse_signer_key)):
        parse(key)
        for i in range(len(key) + 1):
            for j in range(i + 1, len(key) + 1):
                if (i, j) != (0, len(key)):
                    with pytest.raises(notes.NoteError):
                        parse(key[i:j])
        for i in range(len(key)):
            with pytest.raises(notes.NoteError):
                parse(key[:i] + chr(ord(key[i]) + 1) + key[i + 1:])
    # Wrong key length and unknown algorithm, each with a matching key ID (Go's cases).
    with pytest.raises(notes.NoteError):
        notes.parse_verifier_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1"
                                 "0TWBADKEY==")
    with pytest.raises(notes.NoteError):
        notes.parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1"
                                 "0TW")


@pytest.mark.parametrize(("skey", "vkey"), [
    ("PRIVATE+KEY+FooLog+3d42aea6+AdLOqvyC6Q/86GltHux+trlUT3fRKyCtnc/1VMrmLIdo",
     "FooLog+3d42aea6+Aby03a35YY+FNI4dfRSvLtq1jQE5UjxIW5CXfK0hiIac"),
    ("PRIVATE+KEY+BarLog+74e9e60a+AckT6UKhbEXLxB57ZoqJNWRFsUJ+T6hnZrDd7G+SfZ5h",
     "BarLog+74e9e60a+AQXax81tHt0hpLWhLfnmZ677jAQ7+PLWenJqNrj83CeC"),
    ("PRIVATE+KEY+Aardvark+871d50e2+Ad/vysEZw5Etl39nPqMjSyJ74QPxkj6W5aBEpLiJWAf2",
     "Aardvark+871d50e2+AWvETn8gle8a0w19eLk7A9bj8INCAXa+LCJ8Om3jwYsD"),
])
def test_signer_keys_derive_the_published_verifier_keys(skey, vkey):
    assert notes.parse_signer_key(skey).verifier().vkey() == vkey


@pytest.mark.parametrize("vkey", [
    "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",  # type 0x01
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",  # type 0x04
])
def test_published_verifier_keys_have_matching_key_ids(vkey):
    verifier = notes.parse_verifier_key(vkey)
    assert verifier.vkey() == vkey
    assert isinstance(verifier, notes.CosignatureVerifier) == vkey.startswith("remora")


def test_sigsum_checkpoint_and_cosignature_are_reproduced_exactly():
    signer = notes.Ed25519Signer(SIGSUM_ORIGIN, SIGSUM_SEED)
    cp = checkpoints.Checkpoint.parse(SIGSUM_BODY.replace("example.org/log", SIGSUM_ORIGIN))
    assert checkpoints.sign_checkpoint(cp, signer).encode().decode() == SIGSUM_CHECKPOINT
    witness = notes.CosignatureSigner(notes.Ed25519Signer("example.org/witness", SIGSUM_SEED))
    line = notes.Signature(witness.name, witness.key_id,
                           witness.sign(SIGSUM_BODY.encode(), timestamp=1234)).line()
    assert line == SIGSUM_COSIG
    # And the reverse: the published line verifies over the body, and only over it.
    sig = notes.Signature.parse_line(SIGSUM_COSIG[:-1])
    assert witness.verifier().verify(SIGSUM_BODY.encode(), sig.signature)
    assert notes.cosignature_timestamp(sig.signature) == 1234
    assert not witness.verifier().verify(SIGSUM_BODY.replace("10", "11").encode(), sig.signature)
    # A cosignature key does not verify plain note signatures, nor the reverse.
    plain = notes.Ed25519Verifier("example.org/witness", witness.verifier().public_key)
    assert plain.key_id != witness.key_id
    assert not plain.verify(SIGSUM_BODY.encode(), sig.signature)


def test_go_checksum_database_checkpoint_verifies():
    key = notes.parse_verifier_key(GO_SUMDB_KEY)
    signed = checkpoints.open_checkpoint(GO_SUMDB_CHECKPOINT.encode(), [key])
    assert signed.checkpoint.origin == "go.sum database tree"
    assert signed.checkpoint.size == 30055305
    assert signed.checkpoint.body() == GO_SUMDB_CHECKPOINT.split("\n\n")[0] + "\n"
    with pytest.raises(notes.InvalidSignature):
        checkpoints.open_checkpoint(GO_SUMDB_CHECKPOINT.replace("30055305", "30055306"), [key])


def test_spec_cosignature_line_carries_the_spec_timestamp():
    # tlog-cosignature: the example line's timestamp is the "time 1679315147" of the message
    # example; transparency-dev/formats TestCoSigV1Timestamp: 1727964367.
    line = (f"{EM} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZC"
            "B9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")
    assert notes.cosignature_timestamp(notes.Signature.parse_line(line).signature) == 1679315147
    raw = base64.b64decode("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL"
                           "+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
    assert notes.cosignature_timestamp(raw[4:]) == 1727964367
    assert notes.cosignature_message("a\n", 7) == b"cosignature/v1\ntime 7\na\n"


def test_spec_checkpoint_example_parses():
    body = ("example.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    cp = checkpoints.Checkpoint.parse(body)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.body() == body
    ext = checkpoints.Checkpoint.parse(body + "extension line\n")
    assert ext.extensions == ("extension line",) and ext.body() == body + "extension line\n"


@pytest.mark.parametrize("text", [
    "origin\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    "origin\n10\n",  # no root line
    "\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
    "origin\n010\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
    "origin\n+10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "origin\n\u0661\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # Arabic-Indic digit one
    "origin\n-1\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "origin\n10\nHA5H\n",  # 3-byte root
    "origin\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical base64
    "origin\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  # empty extension line
])
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.Checkpoint.parse(text)


def test_cosignatures_alone_do_not_make_a_checkpoint_the_logs():
    log = notes.Ed25519Signer("example.org/log", bytes(range(32)))
    witness = notes.CosignatureSigner(notes.Ed25519Signer("w.example/1", bytes(32)),
                                      clock=lambda: 1700000000)
    cp = checkpoints.Checkpoint("example.org/log", 10, bytes(32))
    note = notes.sign_note(cp.body(), [witness])
    with pytest.raises(notes.UnverifiedNote):
        checkpoints.open_checkpoint(note, [log.verifier()], [witness.verifier()])
    note = notes.sign_note(cp.body(), [log, witness])
    signed = checkpoints.open_checkpoint(note.encode(), [log.verifier()], [witness.verifier()])
    assert signed.cosignatures() == [("w.example/1", 1700000000)]
    assert signed.checkpoint == cp


def test_signer_repr_never_shows_the_seed():
    signer = notes.parse_signer_key(GO_SKEY)
    assert "AYEKF" not in repr(signer) and signer.seed.hex() not in repr(signer)
