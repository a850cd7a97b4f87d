import pytest

from schemas.vin import vin_check_digit, vin_check_digit_ok, with_check_digit

# Real-world VINs with correct check digits (incl. 'X').
VALID = ["1HGCM82633A004352", "1M8GDM9AXKP042788", "JH4KA7561PC008269"]


@pytest.mark.parametrize("vin", VALID)
def test_valid_vins(vin: str) -> None:
    assert vin_check_digit_ok(vin)
    assert vin_check_digit_ok(vin.lower())
    assert vin_check_digit(vin) == vin[8]


@pytest.mark.parametrize("vin", VALID)
def test_every_other_check_digit_is_rejected(vin: str) -> None:
    for c in "0123456789X":
        if c != vin[8]:
            assert not vin_check_digit_ok(vin[:8] + c + vin[9:])


@pytest.mark.parametrize(
    "vin",
    [
        "1HGCM82633A00435",  # 16 chars
        "1HGCM82633A0043521",  # 18 chars
        "1HGCM8263IA004352",  # I
        "1HGCM8263OA004352",  # O
        "1HGCM8263QA004352",  # Q
        "1HGCM8263-A004352",
        "",
    ],
)
def test_malformed_vins(vin: str) -> None:
    assert not vin_check_digit_ok(vin)


def test_check_digit_raises_on_malformed() -> None:
    with pytest.raises(ValueError):
        vin_check_digit("1HGCM8263OA004352")
    with pytest.raises(ValueError):
        vin_check_digit("ABC")


def test_with_check_digit_repairs() -> None:
    assert with_check_digit("1HGCM82603A004352") == "1HGCM82633A004352"
    assert vin_check_digit_ok(with_check_digit("2T1BURHE0JC000000"))
