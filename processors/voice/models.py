"""Pydantic models at the voice step's edges (re-exported by processors.voice.call)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Priority = Literal["high", "medium", "low"]


class Segment(BaseModel):
    """One stretch of one speaker's speech."""

    start: float
    end: float
    text: str
    speaker: str = Field(description='"agent" | "customer", or "speaker_1" for one voice')
    confidence: float = Field(1.0, description="exp(whisper avg token log-probability)")
    no_speech_prob: float = 0.0
    pitch_hz: float | None = Field(None, description="median f0 of the voiced frames")
    energy: float = Field(0.0, description="RMS amplitude of the stretch, 0..1 full scale")


class Transcript(BaseModel):
    text: str
    language: str
    language_probability: float
    duration_s: float
    segments: list[Segment]
    speakers: list[str]
    stress: dict[str, float | dict] = Field(
        default_factory=dict, description="per speaker: indicators + stress_index; overall")
    speech_s: float
    silence_s: float
    processing_ms: float


class ActionItemOut(BaseModel):
    task: str
    assignee: str | None = Field(None, description='"agent", "customer", or a role/label')
    deadline: str | None = Field(None, description="ISO date, resolved from the call time")
    deadline_phrase: str | None = None
    priority: Priority
    source: Literal["rules", "model"]


class CallScore(BaseModel):
    appointment_requested: bool
    appointment_set: bool
    caller_name_captured: bool
    callback_number_captured: bool
    hold_s: float
    silence_s: float
    talk_ratio_agent: float
    score: int = Field(ge=0, le=100)


class CallReport(BaseModel):
    sentiment: float = Field(description="VADER compound of the customer's turns, -1..1")
    sentiment_label: str
    segment_sentiments: list[float]
    action_items: list[ActionItemOut]
    summary: str
    summary_source: str
    score: CallScore
    notes: list[str] = Field(default_factory=list)
