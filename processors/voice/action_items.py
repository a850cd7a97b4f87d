"""Action items of a call: rules from sentence structure first, the model (optionally) adds.

Rules (spaCy dependency parse of each speaker turn, `language.parse`): a clause is an
action item when its verb is

- a COMMITMENT: subject I/we + future modal ("I'll call you back", "we will have it ready",
  "I am going to ...") in a statement, or I/we + can/could with a time phrase ("I can order
  it today"); the assignee is the speaker;
- a REQUEST: subject "you" + can/could/would/will ("can you send me the quote"), or an
  imperative ("please call me when it's ready"); the assignee is the other party;
- a THIRD-PARTY commitment: a role or a person label as subject ("our service manager will
  call you"), or a causative "I'll have our service manager call you"; the assignee is that
  role ("service manager") or label (`<PERSON_2>`).

Negated clauses and verbs that do not make a task (wanting, hoping, holding the line, giving
one's name: `NOT_TASKS`) are skipped. Conjoined verbs ("check the price and call me back
tomorrow") are separate items. The deadline is the clause's time phrase resolved against the
call time (`deadlines.resolve_deadline`); pronouns in the task are rewritten to roles ("call
the customer back"). The same task by the same assignee said twice (a request, then the
promise) is one item, keeping a deadline when either has one.

Priority (deterministic): high when the deadline is the call date or the next day, or the
speaker's turn says it is urgent; low when the deadline is more than 7 days out; else medium.

The model (through an LlmGateway, operation `analyze_call`, schema-constrained) sees only the
REDACTED transcript and the rules' items; its items are added when no rule item has the same
assignee and most of the same words. Its deadline phrases are resolved by the same
deterministic code (a model never dates anything). If the model fails, the rules' items stand
and a note says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from spacy.tokens import Doc, Span, Token

from processors.llm.errors import LlmError
from processors.voice.deadlines import resolve_deadline
from processors.voice.language import is_question, label_of, parse, time_phrases
from processors.voice.models import ActionItemOut, Priority, Segment

OPERATION = "analyze_call"
FUTURE_MODALS = {"will", "'ll", "ll", "shall", "wo"}
ABILITY_MODALS = {"can", "could", "ca"}
REQUEST_MODALS = {"can", "could", "would", "will", "ca", "wo"}
#: Verbs whose clause is never a task (states, wishes, in-call courtesies and hold).
NOT_TASKS = {"be", "hope", "think", "guess", "bet", "need", "want", "like", "love", "mind",
             "hold", "wait", "thank", "appreciate", "help", "hear", "go", "sound", "know",
             "do", "try", "work", "see", "excuse", "forget", "worry", "stay"}
#: In a request, verbs that ask for something during the call itself (name, spelling).
IN_CALL = {"tell", "give", "spell", "repeat", "say", "confirm", "get", "have", "hang",
           "let", "read", "put"}
#: Head nouns that make a subject a role that can be assigned a task.
ROLE_NOUNS = {"manager", "technician", "tech", "advisor", "adviser", "salesperson",
              "consultant", "mechanic", "team", "department", "desk", "specialist", "rep",
              "representative", "office", "dealer", "dealership", "someone", "somebody",
              "colleague", "coordinator", "estimator", "porter", "driver", "shop"}
DISCOURSE = {"also", "just", "really", "actually", "definitely", "certainly", "absolutely",
             "please", "then", "now", "still", "probably", "surely", "gladly", "happily"}
URGENT = re.compile(r"\b(urgent(ly)?|asap|as soon as possible|right away|immediately|"
                    r"emergency|straight away)\b", re.IGNORECASE)
ROLE_WORD = {"agent": "the agent", "customer": "the customer"}


@dataclass
class _Clause:
    verb: Token
    subject: Token | None
    modal: str | None
    negated: bool


def _clause(verb: Token) -> _Clause:
    """Subject, modal and negation of `verb`, inherited from the first conjunct if absent."""
    subject = next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    modal = next((c.lower_ for c in verb.children if c.dep_ == "aux" and
                  (c.tag_ == "MD" or c.lower_ in FUTURE_MODALS)), None)
    negated = any(c.dep_ == "neg" for c in verb.children)
    head = verb.head
    if verb.dep_ == "xcomp" and head.lower_ in ("going", "gonna") and head.lemma_ == "go":
        inherited = _clause(head)  # "I am going to call you"
        return _Clause(verb, inherited.subject, "will", negated or inherited.negated)
    if verb.dep_ == "conj" and head.pos_ in ("VERB", "AUX") and head is not verb:
        inherited = _clause(head)
        return _Clause(verb, subject or inherited.subject,
                       modal or (None if subject else inherited.modal),
                       negated or (inherited.negated and subject is None))
    return _Clause(verb, subject, modal, negated)


def _is_imperative(c: _Clause) -> bool:
    v = c.verb
    if c.subject is not None or c.modal is not None or v.tag_ != "VB":
        return False
    if v.dep_ == "ROOT":
        return True
    return v.dep_ == "conj" and _is_imperative(_clause(v.head))


def _role(subject: Token) -> str | None:
    """A third-party assignee: a redaction label, a PERSON, or a role noun phrase."""
    label = label_of(subject)
    if label and label.startswith("<PERSON"):
        return label
    if subject.ent_type_ == "PERSON":
        return subject.text
    if subject.lemma_.lower() in ROLE_NOUNS:
        words = [t.text for t in subject.subtree
                 if t.dep_ in ("compound", "amod") or t == subject]
        return " ".join(words).lower()
    return None


def _other(speaker: str) -> str | None:
    return {"agent": "customer", "customer": "agent"}.get(speaker)


@dataclass
class _Item:
    task: str
    assignee: str | None
    deadline: date | None
    phrase: str | None
    key: tuple[str | None, str]
    urgent: bool
    order: int


def _task_text(verb: Token, drop: set[int], speaker: str) -> str:
    """The verb phrase, without subject/modals/time phrase/other clauses; pronouns -> roles."""
    skip: set[int] = set(drop)
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass", "aux", "auxpass", "neg", "cc", "intj",
                          "punct", "mark") or (child.dep_ == "conj" and child.pos_ in
                                                ("VERB", "AUX")):
            skip.update(t.i for t in child.subtree)
        if child.dep_ == "advmod" and child.lower_ in DISCOURSE:
            skip.add(child.i)
        if child.i < verb.i and child.dep_ != "prt":
            # left of the verb: subject, modals, "great,", vocatives, leading clauses
            skip.update(t.i for t in child.subtree)
    addressee = ROLE_WORD.get(_other(speaker) or "")
    me = ROLE_WORD.get(speaker)
    words: list[str] = []
    for t in verb.subtree:
        if t.i in skip or (t.is_punct and t.text not in "'-$"):
            continue
        text = t.text
        if addressee and me:  # "I"/"we" stay: only the clause's own subject was dropped
            low = t.lower_
            if low == "you":
                text = addressee
            elif low == "your":
                text = f"{addressee}'s"
            elif low in ("me", "us"):
                text = me
            elif low == "my":
                text = f"{me}'s"
        words.append(text)
    return re.sub(r"\s+", " ", " ".join(words)).replace(" 's", "'s").strip()


def _key(verb: Token, assignee: str | None) -> tuple[str | None, str]:
    particles = [c.lower_ for c in verb.children if c.dep_ == "prt" or
                 (c.dep_ == "advmod" and c.lower_ in ("back", "up"))]
    return assignee, " ".join([verb.lemma_.lower(), *particles])


def _deadline(span_tokens: set[int], sent: Span, call_time: datetime
              ) -> tuple[date | None, str | None, set[int]]:
    """The first time phrase inside the clause that resolves to a date (and its tokens)."""
    doc = sent.doc
    for phrase in time_phrases(sent):
        toks = {t.i for t in doc if phrase.start <= t.idx < phrase.end}
        if not toks or not toks <= span_tokens:
            continue
        day = resolve_deadline(phrase.text, call_time)
        if day is not None:  # the phrase and what hangs on it ("my Friday") leave the task
            return day, phrase.text, toks | {s.i for t in toks for s in doc[t].subtree}
    return None, None, set()


def _clause_tokens(verb: Token) -> set[int]:
    """The verb's subtree without conjoined verbs' subtrees (they are their own clauses)."""
    out = {t.i for t in verb.subtree}
    for child in verb.children:
        if child.dep_ == "conj" and child.pos_ in ("VERB", "AUX"):
            out -= {t.i for t in child.subtree}
    return out


def _items_in_sentence(sent: Span, speaker: str, call_time: datetime, urgent: bool,
                       order: int) -> list[_Item]:
    items = []
    question = is_question(sent)
    for verb in sent:
        if verb.pos_ not in ("VERB", "AUX") or verb.lemma_.lower() in NOT_TASKS:
            continue
        c = _clause(verb)
        if c.negated:
            continue
        subj = c.subject.lower_ if c.subject is not None else None
        target: Token = verb
        assignee: str | None
        if subj in ("i", "we") and (
                (c.modal in FUTURE_MODALS and not question) or
                (c.modal in ABILITY_MODALS and not question and time_phrases(sent))):
            assignee = speaker
            causative = _causative(verb)
            if causative is not None:
                target, assignee = causative
        elif subj == "you" and c.modal in REQUEST_MODALS or _is_imperative(c):
            if verb.lemma_.lower() in IN_CALL and not _has_time(verb, sent):
                continue
            assignee = _other(speaker) or "other party"
        elif c.subject is not None and c.modal in FUTURE_MODALS and _role(c.subject):
            assignee = _role(c.subject)
        else:
            continue
        if target.lemma_.lower() in NOT_TASKS:
            continue
        tokens = _clause_tokens(verb)
        deadline, phrase, time_tokens = _deadline(tokens, sent, call_time)
        task = _task_text(target, time_tokens, speaker)
        if len(task.split()) < 2 and target.lemma_.lower() not in ("call", "email", "text"):
            continue
        items.append(_Item(task, assignee, deadline, phrase, _key(target, assignee), urgent,
                           order))
    return items


def _has_time(verb: Token, sent: Span) -> bool:
    span = _clause_tokens(verb)
    return any(t.i in span for p in time_phrases(sent) for t in sent.doc
               if p.start <= t.idx < p.end)


def _causative(verb: Token) -> tuple[Token, str] | None:
    """"have/get <role> <verb>": the embedded verb and the role who does it."""
    if verb.lemma_.lower() not in ("have", "get"):
        return None
    for child in verb.children:
        if child.dep_ in ("ccomp", "xcomp") and child.pos_ == "VERB":
            subj = next((c for c in child.children if c.dep_ == "nsubj"), None)
            role = _role(subj) if subj is not None else None
            if role:
                return child, role
    return None


def priority(deadline: date | None, urgent: bool, call_day: date) -> Priority:
    """high: urgent, or due the call date or the next day; low: due in more than 7 days."""
    if urgent or (deadline is not None and deadline <= call_day + timedelta(days=1)):
        return "high"
    if deadline is not None and deadline > call_day + timedelta(days=7):
        return "low"
    return "medium"


def rule_action_items(segments: Sequence[Segment], call_time: datetime, *,
                      docs: Sequence[Doc] | None = None) -> list[ActionItemOut]:
    """Action items found by the sentence-structure rules, in order of first mention.
    `docs`: the segments already parsed by `language.parse` (parsed here if None)."""
    if docs is None:
        docs = parse([s.text for s in segments])
    found: list[_Item] = []
    for seg, doc in zip(segments, docs, strict=True):
        urgent = bool(URGENT.search(seg.text))
        for sent in doc.sents:
            found += _items_in_sentence(sent, seg.speaker, call_time, urgent, len(found))
    merged: dict[tuple[str | None, str], _Item] = {}
    for item in found:
        prev = merged.get(item.key)
        if prev is None:
            merged[item.key] = item
        elif item.deadline is not None or prev.deadline is None:
            # the later statement (usually the promise) wins; a known deadline is kept
            item.order, item.urgent = prev.order, item.urgent or prev.urgent
            merged[item.key] = item
        else:
            prev.urgent = prev.urgent or item.urgent
    day = call_time.date()
    return [ActionItemOut(task=i.task, assignee=i.assignee,
                          deadline=i.deadline.isoformat() if i.deadline else None,
                          deadline_phrase=i.phrase, priority=priority(i.deadline, i.urgent, day),
                          source="rules")
            for i in sorted(merged.values(), key=lambda i: i.order)]


# --- the model ------------------------------------------------------------------------------

MODEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action_items": {
            "type": "array", "maxItems": 8,
            "items": {
                "type": "object",
                "properties": {
                    "task": {"type": "string", "minLength": 3, "maxLength": 160},
                    "assignee": {"type": "string", "maxLength": 40},
                    "deadline_phrase": {"type": "string", "maxLength": 60},
                },
                "required": ["task", "assignee", "deadline_phrase"],
            },
        },
    },
    "required": ["action_items"],
}
SYSTEM_PROMPT = (
    "You list the action items of a car dealership phone call: things someone promised or "
    "was asked to do after the call. Reply with JSON only. task: a short imperative. "
    "assignee: \"agent\", \"customer\", or the role named (e.g. \"service manager\"). "
    "deadline_phrase: the words of the call that say when (e.g. \"by Friday\"), or \"\". "
    "Keep placeholders like <PERSON_1> as they are. Do not repeat items already found.")
_STOP = {"the", "a", "an", "to", "for", "of", "with", "and", "you", "me", "customer", "agent",
         "customer's", "agent's", "it", "back", "up", "in", "on", "by"}


def transcript_for_prompt(segments: Sequence[Segment], max_chars: int = 3000) -> str:
    """'Agent: ...' lines; long calls keep their beginning and end (the model is small)."""
    lines = [f"{s.speaker.replace('_', ' ').capitalize()}: {s.text}" for s in segments]
    text = "\n".join(lines)
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return f"{text[:half]}\n...\n{text[-half:]}"


def _words(task: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9<>_']+", task.lower()) if w not in _STOP}


def _duplicate(task: str, assignee: str, items: Sequence[ActionItemOut]) -> bool:
    words = _words(task)
    for item in items:
        other = _words(item.task)
        if (item.assignee or "") == assignee and words and other and \
                len(words & other) / len(words | other) >= 0.5:
            return True
    return False


def _normalise_assignee(value: str) -> str:
    v = value.strip().lower()
    if v in ("agent", "dealer", "dealership", "salesperson", "advisor", "staff", "we"):
        return "agent"
    if v in ("customer", "caller", "client", "buyer"):
        return "customer"
    return value.strip()


def model_action_items(gateway: Any, segments: Sequence[Segment], rules: list[ActionItemOut],
                       call_time: datetime, *, tenant_id: str, user_id: str | None
                       ) -> tuple[list[ActionItemOut], str]:
    """Rules' items plus the model's new ones -> (items, note). Raises nothing: a failing
    model leaves the rules' items and says why in the note."""
    found = "\n".join(f"- {i.task} ({i.assignee}, {i.deadline_phrase or 'no deadline'})"
                      for i in rules) or "- none"
    user = f"Call:\n{transcript_for_prompt(segments)}\n\nAlready found:\n{found}"
    try:
        answer = gateway.complete_json(
            operation=OPERATION, tenant_id=tenant_id, user_id=user_id, schema=MODEL_SCHEMA,
            messages=[{"role": "system", "content": SYSTEM_PROMPT},
                      {"role": "user", "content": user}])
    except LlmError as exc:
        return rules, f"action items: model failed, rules only: {exc}"[:300]
    items = list(rules)
    day = call_time.date()
    added = 0
    for raw in answer.data.get("action_items", []):
        task = str(raw.get("task", "")).strip()
        assignee = _normalise_assignee(str(raw.get("assignee", "")))
        if not task or _duplicate(task, assignee, items):
            continue
        phrase = str(raw.get("deadline_phrase", "")).strip() or None
        deadline = resolve_deadline(phrase, call_time) if phrase else None
        items.append(ActionItemOut(
            task=task, assignee=assignee or None,
            deadline=deadline.isoformat() if deadline else None,
            deadline_phrase=phrase if deadline else None,
            priority=priority(deadline, bool(URGENT.search(task)), day), source="model"))
        added += 1
    return items, f"action items: rules + model {answer.model} ({added} added)"
