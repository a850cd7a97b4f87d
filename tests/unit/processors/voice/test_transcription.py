"""Speech-to-text accuracy on generated two-voice calls: WER, timestamps, speakers, stress."""

from __future__ import annotations

import re

import jiwer
import pytest

from connectors.samples.calls import (
    SCRIPTS,
    CallScript,
    GeneratedCall,
    Turn,
    generate_call,
    session_dir,
)
from processors.voice.call import Transcript, transcribe_audio
from tests.synthetic.transcripts import transcribed_calls

MAX_WER = 0.10
MIN_SPEAKER_ACCURACY = 0.90

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}


def _numbers_to_digits(words: list[str]) -> list[str]:
    """'four hundred' -> '400', 'ten' -> '10' (enough for the scripts' numbers)."""
    out: list[str] = []
    value: int | None = None
    for w in words:
        if w in _UNITS or w in _TENS:
            n = _UNITS.index(w) if w in _UNITS else _TENS[w]
            value = (value or 0) + n
        elif w == "hundred" and value is not None:
            value *= 100
        else:
            if value is not None:
                out.append(str(value))
                value = None
            out.append(w)
    if value is not None:
        out.append(str(value))
    return out


def normalise(text: str) -> str:
    """Lowercase, '$400' -> '400 dollars', digits of a phone number joined, no punctuation,
    number words as digits: the transcript and the script then compare word for word."""
    t = text.lower()
    t = re.sub(r"\$(\d+)", r"\1 dollars", t)
    t = re.sub(r"(?<=\d)[-.\s](?=\d)", "", t)
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    return " ".join(_numbers_to_digits(t.split()))


@pytest.fixture(scope="module")
def calls() -> list[tuple[GeneratedCall, Transcript]]:
    return transcribed_calls()


def test_normalise_makes_equivalent_forms_equal():
    assert normalise("About four hundred dollars, at ten.") == normalise("About $400 at 10")
    assert normalise("My number is 512-555-0143.") == "my number is 5125550143"


def test_word_error_rate_is_at_most_ten_percent(calls):
    refs = [normalise(c.script.transcript) for c, _ in calls]
    hyps = [normalise(t.text) for _, t in calls]
    wer = jiwer.wer(refs, hyps)
    per_call = {c.script.name: round(jiwer.wer(r, h), 3)
                for (c, _), r, h in zip(calls, refs, hyps, strict=True)}
    assert wer <= MAX_WER, per_call
    assert max(per_call.values()) <= 2 * MAX_WER, per_call


def test_segments_timestamps_and_language_are_sane(calls):
    for call, t in calls:
        assert t.language == "en" and t.language_probability > 0.5
        assert t.duration_s == pytest.approx(call.duration_s, abs=0.05)
        assert t.segments and all(s.text.strip() for s in t.segments)
        starts = [s.start for s in t.segments]
        assert starts == sorted(starts)
        for s in t.segments:
            assert 0 <= s.start < s.end <= t.duration_s + 0.01
            assert 0 < s.confidence <= 1 and 0 <= s.no_speech_prob <= 1
            assert s.energy > 0
        # the first word is spoken after the lead-in, the last before the tail
        assert call.spans[0][0] - 0.6 <= t.segments[0].start
        assert t.segments[-1].end <= call.spans[-1][1] + 0.6
        spoken = sum(e - s for s, e, _ in call.spans)
        assert t.speech_s == pytest.approx(spoken, rel=0.15)
        assert t.speech_s + t.silence_s == pytest.approx(t.duration_s, abs=0.01)
        assert t.processing_ms > 0


def test_agent_and_customer_turns_are_told_apart(calls):
    right = total = 0.0
    for call, t in calls:
        assert t.speakers == ["agent", "customer"]
        for s in t.segments:
            truth = call.speaker_at((s.start + s.end) / 2)
            if truth is not None:
                total += s.end - s.start
                right += (s.end - s.start) * (truth == s.speaker)
    assert right / total >= MIN_SPEAKER_ACCURACY


def test_pitch_follows_the_voices(calls):
    for _, t in calls:
        agent = [s.pitch_hz for s in t.segments if s.speaker == "agent" and s.pitch_hz]
        customer = [s.pitch_hz for s in t.segments if s.speaker == "customer" and s.pitch_hz]
        # the generated agent voice is low (~85 Hz), the customer's high (~220 Hz)
        assert max(agent) < min(customer)


def test_stress_report_per_speaker_and_overall(calls):
    for _, t in calls:
        assert set(t.stress) == {"agent", "customer", "overall"}
        for who in ("agent", "customer"):
            values = t.stress[who]
            assert isinstance(values, dict)
            assert 0 <= values["stress_index"] <= 1
            assert 1.0 < values["rate_wps"] < 5.0  # espeak at 140 wpm: ~2.3 words/s
        assert 0 <= t.stress["overall"] <= 1


def test_hold_silence_splits_a_segment_at_the_pause(calls):
    call, t = next((c, t) for c, t in calls if c.script.hold_s > 0)
    gaps = [b.start - a.end for a, b in zip(t.segments, t.segments[1:], strict=False)]
    assert max(gaps) >= call.script.hold_s - 0.5


def test_one_voice_is_one_speaker():
    script = SCRIPTS[2]
    mono = CallScript("one_voice", tuple(Turn("agent", t.text) for t in script.turns), (),
                      False, False, False, False)
    call = generate_call(mono, session_dir())
    t = transcribe_audio(call.path.read_bytes())
    assert t.speakers == ["speaker_1"]


def test_batched_pipeline_gives_the_same_words():
    call, plain = transcribed_calls()[0]
    batched = transcribe_audio(call.path.read_bytes(), batched=True)
    assert jiwer.wer(normalise(plain.text), normalise(batched.text)) <= 0.1
    assert batched.speakers == plain.speakers
