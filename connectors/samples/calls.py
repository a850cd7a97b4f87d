"""Two-voice dealership phone calls generated with espeak-ng + sox, with KNOWN content.

Each `CallScript` holds the turns (who says what), the action items a listener would note
(task keywords, assignee, deadline as a date relative to `CALL_TIME`), and the facts the call
scoring must find. `generate_call` speaks every turn with the speaker's voice (agent and
customer differ in voice variant and pitch), resamples to 16 kHz mono with sox and joins the
turns with pauses (and the script's hold silences), so the true speaker of every instant is
known (`GeneratedCall.spans`).

`generated_calls()` renders every script once per process into a temporary directory (the
test session's cache); `silence_wav` makes long silent files with sox. The demo and the
benchmarks use the same scripts (tests/synthetic/transcripts.py caches their transcripts).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

#: The fixed time every generated call took place: Wednesday 12 March 2025, 10:00.
CALL_TIME = datetime(2025, 3, 12, 10, 0)
SAMPLE_RATE = 16000
#: espeak-ng arguments per speaker: a low male voice for the agent, a higher female customer.
AGENT_VOICE = ("-v", "en-us+m1", "-p", "35", "-s", "140")
CUSTOMER_VOICE = ("-v", "en-us+f2", "-p", "65", "-s", "140")
LEAD_IN_S = 0.5
GAP_S = 0.8
TAIL_S = 1.0


@dataclass(frozen=True)
class Turn:
    speaker: str  # "agent" | "customer"
    text: str
    hold_after_s: float = 0.0  # silence after the turn (the caller on hold)


@dataclass(frozen=True)
class KnownItem:
    """An action item: some keyword in the task, who does it, by when (None: no deadline)."""

    keywords: tuple[str, ...]
    assignee: str
    deadline: date | None


@dataclass(frozen=True)
class CallScript:
    name: str
    turns: tuple[Turn, ...]
    items: tuple[KnownItem, ...]
    appointment_requested: bool
    appointment_set: bool
    caller_name_captured: bool
    callback_number_captured: bool

    @property
    def transcript(self) -> str:
        return " ".join(t.text for t in self.turns)

    @property
    def hold_s(self) -> float:
        return sum(t.hold_after_s for t in self.turns)


@dataclass
class GeneratedCall:
    script: CallScript
    path: Path
    duration_s: float
    #: (start_s, end_s, speaker) of every spoken turn, in order
    spans: list[tuple[float, float, str]] = field(default_factory=list)

    def speaker_at(self, t: float) -> str | None:
        for start, end, speaker in self.spans:
            if start <= t <= end:
                return speaker
        return None


def _a(text: str, hold_after_s: float = 0.0) -> Turn:
    return Turn("agent", text, hold_after_s)


def _c(text: str) -> Turn:
    return Turn("customer", text)


WED = CALL_TIME.date()
THU, FRI = date(2025, 3, 13), date(2025, 3, 14)
MON, TUE = date(2025, 3, 17), date(2025, 3, 18)

SCRIPTS: tuple[CallScript, ...] = (
    CallScript(
        "service_booking",
        (_a("Thanks for calling Riverside Honda service, this is Mike. How can I help you "
            "today?"),
         _c("Hi, my car needs an oil change and the brakes are squeaking."),
         _a("Sure. Can I get your name please?"),
         _c("My name is Sarah Jones."),
         _a("And what is the best number to reach you?"),
         _c("My number is 512-555-0143."),
         _a("Can we schedule an appointment for Tuesday at ten in the morning?"),
         _c("Yes, Tuesday morning works for me."),
         _a("Great. I will schedule your appointment for Tuesday at ten, and I will send you a "
            "confirmation text today."),
         _c("Thank you. Can you also check the price of new brake pads and call me back "
            "tomorrow?"),
         _a("Yes, I'll call you back tomorrow with the brake pad quote.")),
        (KnownItem(("schedule", "appointment"), "agent", TUE),
         KnownItem(("confirmation", "text"), "agent", WED),
         KnownItem(("call",), "agent", THU)),
        appointment_requested=True, appointment_set=True, caller_name_captured=True,
        callback_number_captured=True),
    CallScript(
        "sales_follow_up",
        (_a("Thank you for calling Lakeside Toyota sales, this is Jenny speaking."),
         _c("Hi Jenny, I test drove the new truck last weekend and I am still thinking about "
            "it."),
         _a("Of course. May I have your name?"),
         _c("My name is David Miller."),
         _a("Thanks David. Would you like to come in for another test drive this Saturday?"),
         _c("Maybe. Can you email me the price sheet first?"),
         _a("Absolutely, I will email you the price sheet this afternoon."),
         _c("I need to talk to my wife. I will let you know before Friday."),
         _a("Sounds good. I will follow up with you next Monday if I do not hear back.")),
        (KnownItem(("email", "price sheet"), "agent", WED),
         KnownItem(("let", "know"), "customer", FRI),
         KnownItem(("follow up",), "agent", MON)),
        appointment_requested=True, appointment_set=False, caller_name_captured=True,
        callback_number_captured=False),
    CallScript(
        "parts_order",
        (_a("Thanks for calling Northside Motors, how can I help?"),
         _c("I need a new side mirror for my pickup truck."),
         _a("Let me check. We do not have it in stock, but I will order it today."),
         _c("How long will it take?"),
         _a("It should arrive in three days. We will have it ready for pickup by Monday."),
         _c("Okay. My name is Carlos Rivera and my number is 415-555-0187."),
         _a("Thanks Carlos. I will text you when the part arrives.")),
        (KnownItem(("order",), "agent", WED),
         KnownItem(("ready", "pickup"), "agent", MON),
         KnownItem(("text",), "agent", None)),
        appointment_requested=False, appointment_set=False, caller_name_captured=True,
        callback_number_captured=True),
    CallScript(
        "complaint",
        (_a("Thank you for calling Riverside Honda, this is Tom. How can I help you?"),
         _c("I am really angry. My car was repaired last week and the engine light is back "
            "on."),
         _a("I am very sorry to hear that. Can I have your name please?"),
         _c("My name is Linda Chen."),
         _a("Linda, I will have our service manager call you today. This is urgent for us."),
         _c("I also need a loaner car. I cannot get to work without one."),
         _a("We will arrange a loaner car for you by tomorrow morning."),
         _c("Fine, but this is the third time. I am very disappointed.")),
        (KnownItem(("call",), "service manager", WED),
         KnownItem(("loaner",), "agent", THU)),
        appointment_requested=False, appointment_set=False, caller_name_captured=True,
        callback_number_captured=False),
    CallScript(
        "finance_callback",
        (_a("Thanks for calling Metro Auto finance, this is Rachel."),
         _c("Hi, I applied for a car loan on Monday and I have not heard back."),
         _a("Let me look that up. What is your name?"),
         _c("My name is James Wilson, and my number is 720-555-0199."),
         _a("Thanks James. The bank needs a copy of your latest bank statement. Can you send "
            "it to me?"),
         _c("Sure, I will upload it tonight."),
         _a("Great. I will call you back in two days with the decision."),
         _c("Thank you very much.")),
        (KnownItem(("upload", "statement", "send"), "customer", WED),
         KnownItem(("call",), "agent", FRI)),
        appointment_requested=False, appointment_set=False, caller_name_captured=True,
        callback_number_captured=True),
    CallScript(
        "repair_status_hold",
        (_a("Thanks for calling Riverside Honda service, this is Mike."),
         _c("Hi, I am calling about my car. It has been in the shop since Monday."),
         _a("Sure, please stay on the line while I check with the technician.",
            hold_after_s=8.0),
         _a("Thanks for holding. The technician says it needs a new water pump."),
         _c("How much will that cost?"),
         _a("About four hundred dollars. We can have it done by the end of the week."),
         _c("Okay, go ahead. Please call me when it is ready."),
         _a("Will do. I will call you as soon as it is ready.")),
        (KnownItem(("done", "water pump", "repair", "replace"), "agent", FRI),
         KnownItem(("call",), "agent", None)),
        appointment_requested=False, appointment_set=False, caller_name_captured=False,
        callback_number_captured=False),
)


def _speak(text: str, voice: tuple[str, ...], out: Path) -> np.ndarray:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", *voice, "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out)],
                   check=True)
    raw.unlink()
    return read_wav(out)


def read_wav(path: Path) -> np.ndarray:
    """16-bit mono WAV -> int16 samples."""
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype(np.int16).tobytes())


def generate_call(script: CallScript, out_dir: Path, *, gap_s: float = GAP_S) -> GeneratedCall:
    """Render `script` to `out_dir/<name>.wav` (16 kHz mono 16-bit) with known turn spans."""
    parts: list[np.ndarray] = [np.zeros(int(LEAD_IN_S * SAMPLE_RATE), np.int16)]
    spans: list[tuple[float, float, str]] = []
    pos = len(parts[0])
    for i, turn in enumerate(script.turns):
        voice = AGENT_VOICE if turn.speaker == "agent" else CUSTOMER_VOICE
        audio = _speak(turn.text, voice, out_dir / f"{script.name}.turn{i}.wav")
        spans.append((pos / SAMPLE_RATE, (pos + len(audio)) / SAMPLE_RATE, turn.speaker))
        pause = np.zeros(int((gap_s + turn.hold_after_s) * SAMPLE_RATE), np.int16)
        parts += [audio, pause]
        pos += len(audio) + len(pause)
    parts.append(np.zeros(int(TAIL_S * SAMPLE_RATE), np.int16))
    samples = np.concatenate(parts)
    path = out_dir / f"{script.name}.wav"
    write_wav(path, samples)
    for f in out_dir.glob(f"{script.name}.turn*.wav"):
        f.unlink()
    return GeneratedCall(script, path, len(samples) / SAMPLE_RATE, spans)


_CACHE: dict[str, list[GeneratedCall]] = {}
_TMP: list[Path] = []


def session_dir() -> Path:
    """A temporary directory for this process's generated audio, removed at exit."""
    if not _TMP:
        _TMP.append(Path(tempfile.mkdtemp(prefix="auterity-calls-")))
        atexit.register(shutil.rmtree, _TMP[0], True)
    return _TMP[0]


def generated_calls() -> list[GeneratedCall]:
    """Every script rendered once per process (the test session's cache)."""
    if "all" not in _CACHE:
        _CACHE["all"] = [generate_call(s, session_dir()) for s in SCRIPTS]
    return _CACHE["all"]


def silence_wav(seconds: float, out: Path) -> Path:
    """`seconds` of digital silence at 16 kHz mono (sox -n ... trim 0 seconds)."""
    if not out.exists():
        subprocess.run(["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out),
                        "trim", "0", str(seconds)], check=True)
    return out
