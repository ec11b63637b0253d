#!/usr/bin/env python3
"""Build C2PA test fixtures for Stockwerk's provenance (AI-generated) detection.

Writes small 64x48 gradient images carrying a signed C2PA manifest whose
actions assertion declares an IPTC digital source type, plus an expectations
file, into Tests/Fixtures/provenance/:

  c2pa-firefly.jpg  JPEG, c2pa.created + trainedAlgorithmicMedia   (AI)
  c2pa-ai.png       PNG (caBX chunk), same as above                (AI)
  c2pa-photo.jpg    JPEG, c2pa.created + digitalCapture            (not AI)
  c2pa-edited.jpg   JPEG, legacy claim v1 ("c2pa.claim", urn:uuid: label),
                    c2pa.edited + compositeWithTrainedAlgorithmicMedia,
                    softwareAgent as a text string                 (AI)
  c2pa-expected.json

The manifests are signed with a throw-away ES256 (P-256) certificate chain
generated on the fly (root CA -> end-entity). No timestamp authority is used
and every network-touching setting is off, so the script runs offline.
The signatures are therefore "untrusted" for a real validator; the fixtures
exist only to exercise a JUMBF/CBOR reader.

Usage (outside the repo's Swift toolchain):
  python3 -m venv /tmp/c2pavenv
  /tmp/c2pavenv/bin/pip install c2pa-python pillow cryptography
  /tmp/c2pavenv/bin/python Tools/reference/build_c2pa_fixtures.py [OUT_DIR]
"""

import datetime
import io
import json
import os
import sys

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_provenance_fixtures import gradient_image  # noqa: E402  (same test image as the other fixtures)

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "Tests", "Fixtures", "provenance")

# id-kp-documentSigning (RFC 9336)
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


# --------------------------------------------------------------------------
# Test certificate chain
# --------------------------------------------------------------------------

def key_usage(signs_certificates):
    """Digital signature always; certificate and CRL signing only for the root (c2pa-rs checks both)."""
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=signs_certificates, crl_sign=signs_certificates,
        encipher_only=False, decipher_only=False)


def make_cert_chain():
    """Return (chain_pem, ee_key_pem, ee_cert_pem, root_cert_pem) as bytes.

    chain = end-entity cert followed by the root CA (c2pa-rs wants the signing
    cert first; the root may be included).
    """
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    not_after = now + datetime.timedelta(days=3650)

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stockwerk Test"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Stockwerk Test Root CA"),
    ])
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root_cert = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(signs_certificates=True), critical=True)
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    ee_key = ec.generate_private_key(ec.SECP256R1())
    ee_name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stockwerk Test"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Fixtures"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Stockwerk Test Signer"),
    ])
    ee_cert = (
        x509.CertificateBuilder()
        .subject_name(ee_name)
        .issuer_name(root_name)
        .public_key(ee_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3000))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(signs_certificates=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
            critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ee_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False)
        .sign(root_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ee_pem = ee_cert.public_bytes(pem)
    chain = ee_pem + root_cert.public_bytes(pem)
    key_pem = ee_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, key_pem, ee_pem, root_cert.public_bytes(pem)


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

def encode(img, fmt):
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=85)
    else:
        img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------

def created_by_firefly(file, mime, fmt, **changes):
    """A fixture made as Firefly makes its images: a v2 claim, c2pa.created, trained algorithmic media."""
    fixture = {"file": file, "mime": mime, "fmt": fmt, "claim_version": 2, "generator": "Adobe Firefly", "generator_version": "3.0",
               "action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia", "ai": True}
    fixture.update(changes)
    return fixture


FIXTURES = [
    created_by_firefly("c2pa-firefly.jpg", "image/jpeg", "jpeg"),
    created_by_firefly("c2pa-ai.png", "image/png", "png"),
    created_by_firefly("c2pa-photo.jpg", "image/jpeg", "jpeg", generator="Stockwerk Test Camera", generator_version="1.0",
                       digitalSourceType=IPTC + "digitalCapture", ai=False),
    # Claim v1 on purpose: exercises the legacy "c2pa.claim" box (text claim_generator,
    # "urn:uuid:" manifest label) and an actions assertion whose softwareAgent is a plain text
    # string (v2 uses a map with "name"). Note: c2pa-rs 0.9x always labels the actions assertion
    # "c2pa.actions.v2", even in a v1 claim; older files in the wild use "c2pa.actions" (match the
    # label by prefix).
    created_by_firefly("c2pa-edited.jpg", "image/jpeg", "jpeg", claim_version=1, generator="Adobe Photoshop", generator_version="25.0",
                       action="c2pa.edited", digitalSourceType=IPTC + "compositeWithTrainedAlgorithmicMedia"),
    # A manifest too large for one JPEG segment (as manifests with thumbnails or many ingredients
    # are): a 150 KB assertion makes c2pa-rs split the JUMBF over three APP11 segments of at most
    # 64,000 bytes, each continuation repeating the box header.
    created_by_firefly("c2pa-multisegment.jpg", "image/jpeg", "jpeg", padding=150_000),
]


def manifest_definition(fx):
    v = fx["claim_version"]
    if v == 2:
        agent = {"name": fx["generator"], "version": fx["generator_version"]}
    else:
        agent = fx["generator"] + "/" + fx["generator_version"]
    action = {
        "action": fx["action"],
        "digitalSourceType": fx["digitalSourceType"],
        "softwareAgent": agent,
    }
    if fx["action"] == "c2pa.edited":
        action["description"] = "Generative fill"
    md = {
        "claim_version": v,
        "claim_generator_info": [{
            "name": fx["generator"],
            "version": fx["generator_version"],
        }],
        "format": fx["mime"],
        "title": fx["file"],
        "ingredients": [],
        "assertions": [{
            "label": "c2pa.actions",
            "data": {"actions": [action]},
        }],
    }
    if fx.get("padding"):
        md["assertions"].append({"label": "org.stockwerk.padding", "data": {"padding": "x" * fx["padding"]}})
    if v == 1:
        md["claim_generator"] = fx["generator"].replace(" ", "_") + "/" + fx["generator_version"]
    return md


def settings():
    # Everything that could reach the network is off; no thumbnails (keeps the
    # files small); no auto-inserted actions (we supply our own c2pa.created /
    # c2pa.edited); verify_after_sign off so the untrusted self-made chain
    # cannot make signing fail.
    return {
        "version": 1,
        "builder": {
            "thumbnail": {"enabled": False},
            "actions": {
                "auto_created_action": {"enabled": False},
                "auto_opened_action": {"enabled": False},
                "auto_placed_action": {"enabled": False},
            },
        },
        "verify": {
            "verify_after_sign": False,
            "verify_trust": False,
            "verify_timestamp_trust": False,
            "ocsp_fetch": False,
            "remote_manifest_fetch": False,
        },
    }


def main():
    out_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    os.makedirs(out_dir, exist_ok=True)
    chain, key, _, root_pem = make_cert_chain()
    img = gradient_image()

    ctx = c2pa.Context.from_dict(settings())
    info = c2pa.C2paSignerInfo(alg=c2pa.C2paSigningAlg.ES256, sign_cert=chain,
                               private_key=key, ta_url=None)
    expected = []
    for fx in FIXTURES:
        src = io.BytesIO(encode(img, fx["fmt"]))
        dst = io.BytesIO()
        with c2pa.Signer.from_info(info) as signer, \
                c2pa.Builder(manifest_definition(fx), ctx) as builder:
            builder.sign(signer, fx["mime"], src, dst)
        path = os.path.join(out_dir, fx["file"])
        with open(path, "wb") as f:
            f.write(dst.getvalue())
        print(f"wrote {path} ({len(dst.getvalue())} bytes)")
        expected.append({
            "file": fx["file"],
            "ai": fx["ai"],
            "action": fx["action"],
            "digitalSourceType": fx["digitalSourceType"],
            # claim_generator_info[0].name in the claim (v1 and v2)
            "generator": fx["generator"],
            # actions[0].softwareAgent: map {"name",...} for claim v2 (we
            # record its "name"), plain text string for the v1-style one
            "softwareAgent": (fx["generator"] if fx["claim_version"] == 2
                              else fx["generator"] + "/" + fx["generator_version"]),
            "claimVersion": fx["claim_version"],
        })

    with open(os.path.join(out_dir, "c2pa-expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")

    # Read back (trusting our throw-away root so validation can be shown).
    rctx = c2pa.Context.from_dict({
        "version": 1,
        "trust": {"user_anchors": root_pem.decode()},
        "verify": {"ocsp_fetch": False, "remote_manifest_fetch": False},
    })
    for fx in FIXTURES:
        path = os.path.join(out_dir, fx["file"])
        with open(path, "rb") as f, c2pa.Reader(fx["mime"], f, context=rctx) as r:
            store = json.loads(r.json())
        active = store["manifests"][store["active_manifest"]]
        acts = [a for a in active["assertions"] if a["label"].startswith("c2pa.actions")]
        dst = acts[0]["data"]["actions"][0].get("digitalSourceType")
        assert dst == fx["digitalSourceType"], (path, dst)
        print(f"  {fx['file']}: {acts[0]['label']} dst={dst.rsplit('/', 1)[-1]} "
              f"state={store.get('validation_state')}")


if __name__ == "__main__":
    main()
