"""The OCR step's result models (pydantic: they cross the process and event edges)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OcrWord(BaseModel):
    """One recognised word. Boxes are pixels of the page as decoded (a PDF page as rendered
    at the requested dpi); `line` counts lines within the block from 1, across paragraphs."""

    text: str
    confidence: float = Field(ge=0, le=100)  # tesseract's word confidence
    page: int = Field(ge=1)
    block: int = Field(ge=1)
    line: int = Field(ge=1)
    left: int
    top: int
    width: int = Field(ge=0)
    height: int = Field(ge=0)


class OcrBlock(BaseModel):
    """A tesseract layout block: its lines joined by newlines, mean word confidence 0..100."""

    page: int = Field(ge=1)
    block: int = Field(ge=1)
    text: str
    confidence: float = Field(ge=0, le=100)
    left: int
    top: int
    width: int = Field(ge=0)
    height: int = Field(ge=0)


class DocumentFields(BaseModel):
    """Dealership fields found on a document; every value is None when absent.

    Normal forms: phone `(512) 555-0143` (North American 10-digit numbers only; a leading
    1 is dropped), dates ISO `YYYY-MM-DD`, mileage digits only, total `1234.56`, VIN upper
    case with a valid check digit, address `street, City, ST 12345`, vehicle `year make
    model` (model: up to two words), customer name as printed ("LAST, FIRST" becomes
    "FIRST LAST"); other values as printed with whitespace collapsed (identifiers upper
    case)."""

    vin: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    address: str | None = None
    ro_number: str | None = None
    stock_number: str | None = None
    mileage: str | None = None
    total: str | None = None
    date: str | None = None
    license_number: str | None = None
    date_of_birth: str | None = None
    policy_number: str | None = None
    insurer: str | None = None
    vehicle: str | None = None


#: Fields stored only in the restricted (PII) table.
PII_FIELDS: frozenset[str] = frozenset({"vin", "customer_name", "phone", "address",
                                        "license_number", "date_of_birth", "policy_number"})


class OcrResult(BaseModel):
    """Everything the OCR step found in one document."""

    text: str  # pages joined by form feed (\f); blocks by a blank line; lines by \n
    confidence: float = Field(ge=0, le=1)  # mean word confidence over words with conf >= 0
    pages: int = Field(ge=1)
    words: list[OcrWord]
    blocks: list[OcrBlock]
    fields: DocumentFields
    document_kind: str
    processing_ms: float
    corrections: list[str]
