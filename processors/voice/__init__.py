"""Call recordings: faster-whisper speech-to-text with speakers, stress and call analysis.

`processors.voice.call` holds the API: `transcribe_audio` (CPU, no LLM; runs in process-pool
workers) and `analyze_transcript` (redacted segments -> sentiment, action items, summary,
score). Modules: audio (validate/decode), model (whisper load), transcribe, speakers,
acoustics, stress, sentiment, deadlines, language (spaCy), action_items, summary, scoring.
"""
