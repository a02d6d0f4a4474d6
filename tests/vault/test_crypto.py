"""Known-answer tests for the primitives the registry is built on, and our own constructions."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from vault import crypto


def test_argon2id_rfc9106_test_vector() -> None:
    # RFC 9106 §5.3: Argon2id, t=3, m=32 KiB, p=4, with secret and associated data.
    kdf = Argon2id(
        salt=bytes([2]) * 16,
        length=32,
        iterations=3,
        lanes=4,
        memory_cost=32,
        ad=bytes([4]) * 12,
        secret=bytes([3]) * 8,
    )
    tag = kdf.derive(bytes([1]) * 32)
    assert tag.hex() == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"


def test_x25519_rfc7748_section_6_1() -> None:
    alice = X25519PrivateKey.from_private_bytes(
        bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    )
    bob_public = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    assert (
        crypto.public_from_private(
            bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        ).hex()
        == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    )
    shared = alice.exchange(X25519PublicKey.from_public_bytes(bob_public))
    assert shared.hex() == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"


def test_kdf_parameters_below_the_floor_are_refused() -> None:
    weak = crypto.KdfParams(salt=b"s" * 16, memory_kib=32 * 1024, iterations=3, lanes=4)
    with pytest.raises(crypto.KdfParameterError, match="below the floor"):
        crypto.argon2id(b"passphrase", weak)
    with pytest.raises(crypto.KdfParameterError, match="iterations=1 is below"):
        crypto.KdfParams.from_dict({**crypto.KdfParams.new("floor").to_dict(), "iterations": 1})


def test_kdf_parameters_above_the_cap_are_refused_before_any_work() -> None:
    hostile = {**crypto.KdfParams.new().to_dict(), "memory_kib": 64 * 1024 * 1024}
    with pytest.raises(crypto.KdfParameterError, match="above the cap"):
        crypto.KdfParams.from_dict(hostile)


def test_default_kdf_is_128_mib_t3_p4() -> None:
    p = crypto.KdfParams.new()
    assert (p.memory_kib, p.iterations, p.lanes) == (128 * 1024, 3, 4)
    assert len(p.salt) == 16


def test_record_aad_binds_every_field() -> None:
    key = crypto.random_key()
    aad = crypto.record_aad("reg-1", "account", "a_1", 3)
    blob = crypto.seal(key, b"data", aad)
    assert crypto.open_sealed(key, blob, aad) == b"data"
    for other in (
        crypto.record_aad("reg-2", "account", "a_1", 3),
        crypto.record_aad("reg-1", "person", "a_1", 3),
        crypto.record_aad("reg-1", "account", "a_2", 3),
        crypto.record_aad("reg-1", "account", "a_1", 2),
    ):
        with pytest.raises(crypto.DecryptError):
            crypto.open_sealed(key, blob, other)


def test_fresh_nonce_per_write() -> None:
    key = crypto.random_key()
    aad = crypto.record_aad("r", "k", "i", 1)
    assert crypto.seal(key, b"same", aad)[:12] != crypto.seal(key, b"same", aad)[:12]


def test_wrap_round_trip_and_wrong_recipient() -> None:
    private, public = crypto.new_identity_keypair()
    other_private, _ = crypto.new_identity_keypair()
    file_key = crypto.random_key()
    stanza = crypto.wrap(file_key, public, b"label")
    assert crypto.unwrap(stanza, private, b"label") == file_key
    with pytest.raises(crypto.DecryptError):
        crypto.unwrap(stanza, other_private, b"label")
    with pytest.raises(crypto.DecryptError):
        crypto.unwrap(stanza, private, b"other label")


def test_wrap_rejects_a_low_order_public_key() -> None:
    # An all-zero public key gives an all-zero shared secret (RFC 7748 §6.1): must be refused.
    with pytest.raises(crypto.CryptoError):
        crypto.wrap(crypto.random_key(), bytes(32), b"label")


def test_blind_index_is_keyed_and_deterministic() -> None:
    k1, k2 = crypto.random_key(), crypto.random_key()
    a = crypto.blind_index(k1, "account", "x:lincolnhs")
    assert a == crypto.blind_index(k1, "account", "x:lincolnhs")
    assert a != crypto.blind_index(k2, "account", "x:lincolnhs")
    assert a != crypto.blind_index(k1, "person", "x:lincolnhs")
    assert "lincoln" not in a


@pytest.mark.parametrize(
    ("memory_mib", "iterations", "lanes", "refused"),
    [
        (1024, 3, 4, False),  # 1 GiB at the floor's 3 passes: the most accepted
        (192, 16, 4, False),  # 3 GiB-passes spent on passes instead of memory
        (2048, 3, 4, True),  # the old cap: a minute and 2 GB per unlock
        (1024, 4, 4, True),  # within memory, too much work
        (256, 16, 4, True),  # little memory, many passes: too much work
        (128, 3, 16, True),  # lanes beyond any district machine
    ],
)
def test_the_kdf_cap_bounds_one_unlock_to_a_few_seconds_and_1_gib(
    memory_mib: int, iterations: int, lanes: int, refused: bool
) -> None:
    data = {
        **crypto.KdfParams.new().to_dict(),
        "memory_kib": memory_mib * 1024,
        "iterations": iterations,
        "lanes": lanes,
    }
    if refused:
        with pytest.raises(crypto.KdfParameterError, match="above the cap"):
            crypto.KdfParams.from_dict(data)
    else:
        assert crypto.KdfParams.from_dict(data).memory_kib == memory_mib * 1024


def test_records_msgspec_refuses_read_as_json_reads_them() -> None:
    """Records are decoded with msgspec; what it refuses and json accepts (NaN, a lone surrogate
    escape) and integers beyond 64 bits must read exactly as before, not as a damaged record."""
    import math

    from vault import crypto as c

    key, aad = c.random_key(), b"aad"
    for data in ({"n": float("nan")}, {"big": 10**30}, {"s": "lone \ud800"}, {"plain": [1, "é", None]}):
        back = c.open_json(key, c.seal_json(key, data, aad), aad)
        assert back.keys() == data.keys()
        for k, v in data.items():
            assert (math.isnan(back[k]) and math.isnan(v)) if isinstance(v, float) else back[k] == v
    with pytest.raises(c.DecryptError, match="not valid JSON"):
        c.open_json(key, c.seal(key, b"{not json", aad), aad)
    with pytest.raises(c.DecryptError, match="not a JSON object"):
        c.open_json(key, c.seal(key, b"[1]", aad), aad)
