#!/bin/sh
# Regenerates the avatar test keys, certificates and envelopes with tools/dcgw-avatar
# (python3-cryptography: an implementation independent of dcgw's C code). Used by
# tests/unit/test_jws.c, tests/unit/test_avatar.c and docs/avatar-envelope.md; the unit
# tests run at the fixed clock NOW below. Certificates are valid 2025-01-01 .. 2044-12-27
# except expired.pem (2020).
#
#   sh tests/data/avatar/gen.sh      (then commit the result)
#
# New keys mean new vectors: docs/avatar-envelope.md quotes raw-eddsa.key, env-kid and
# request.jwt, and test_jws checks env-kid's signature text; update both with the files.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
T="$PY ../../../tools/dcgw-avatar"
NB=2025-01-01
DAYS=7300
NOW=1767225600 # 2026-01-01T00:00:00Z
rm -rf env-* keys/* ./*.key ./*.pem ./*.jwt avatar.bin

$T ca --key ca.key --cert ca.pem --cn "dcgw test avatar CA" --not-before $NB --days $DAYS
$T ca --key inter.key --cert inter.pem --cn "dcgw test avatar intermediate" \
    --issuer-cert ca.pem --issuer-key ca.key --not-before $NB --days $DAYS
$T ca --key rogue-ca.key --cert rogue-ca.pem --cn "rogue CA" --not-before $NB --days $DAYS
for alg in ES256 ES384 EdDSA PS256 RS256; do
    l=$(echo $alg | tr 'A-Z' 'a-z')
    $T keygen --alg $alg --key $l.key --cert $l.pem --ca-cert ca.pem --ca-key ca.key \
        --cn "avatar signer $alg" --not-before $NB --days $DAYS
done
$T keygen --alg ES256 --key chained.key --cert chained.pem --ca-cert inter.pem --ca-key inter.key \
    --cn "avatar signer via intermediate" --not-before $NB --days $DAYS
$T keygen --alg ES256 --key rogue.key --cert rogue.pem --ca-cert rogue-ca.pem --ca-key rogue-ca.key \
    --cn "rogue signer" --not-before $NB --days $DAYS
$T keygen --alg ES256 --key expired.key --cert expired.pem --ca-cert ca.pem --ca-key ca.key \
    --cn "expired signer" --not-before 2020-01-01 --days 365
$T keygen --alg ES256 --key nodigsig.key --cert nodigsig.pem --ca-cert ca.pem --ca-key ca.key \
    --cn "signer without digitalSignature" --not-before $NB --days $DAYS --no-digital-signature
$T keygen --alg RS256 --rsa-bits 1024 --key rsa1024.key --cert rsa1024.pem --pub keys/weak-rsa.pem \
    --ca-cert ca.pem --ca-key ca.key --cn "weak RSA signer" --not-before $NB --days $DAYS
$T keygen --alg EdDSA --key raw-eddsa.key --pub keys/bar-key-1.pem
$T keygen --alg ES256 --key raw-es256.key --pub keys/bar-key-2.pem
# the UE's DTLS certificate (self-signed, as WebRTC stacks make them) and another key
$T keygen --alg ES256 --key ue.key --cert ue.pem --cn ue --not-before $NB --days $DAYS
$T keygen --alg ES256 --key ue-other.key --cert ue-other.pem --cn ue-other --not-before $NB --days $DAYS

# 5000 bytes of a fixed pattern: chunks of 2048, 2048 and 904
$PY -c 'import hashlib,sys; sys.stdout.buffer.write(b"".join(hashlib.sha256(b"avatar %d" % i).digest() for i in range(157))[:5000])' >avatar.bin
common="--avatar-id avatar-1 --iss https://bar.example --sub sip:alice@ims.example --aud dcgw \
    --cty model/gltf-binary --chunk-size 2048 --iat $((NOW - 3600)) --lifetime 315360000"
for alg in ES256 ES384 EdDSA PS256 RS256; do
    l=$(echo $alg | tr 'A-Z' 'a-z')
    $T sign avatar.bin --key $l.key --cert $l.pem --alg $alg $common --out env-$l >/dev/null
done
$T sign avatar.bin --key chained.key --cert chained.pem --chain inter.pem $common --out env-chained >/dev/null
$T sign avatar.bin --key raw-eddsa.key --kid bar-key-1 $common --out env-kid >/dev/null
$T request --key ue.key --avatar-id avatar-1 --iss sip:alice@ims.example --aud dcgw \
    --iat $NOW --lifetime 300 >request.jwt
$T request --key ue-other.key --avatar-id avatar-1 --iss sip:alice@ims.example --aud dcgw \
    --iat $NOW --lifetime 300 >request-other-key.jwt
