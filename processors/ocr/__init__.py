"""OCR for dealership documents: tesseract with cheap page clean-up, layout-aware field
extraction (VIN with check-digit repair, RO/stock numbers, customer, phone, address,
mileage, totals, dates, licence, insurance) and document-kind classification.

The public API lives in processors.ocr.document and is re-exported here.
"""

from processors.ocr.document import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PAGES,
    PII_FIELDS,
    DocumentFields,
    OcrBlock,
    OcrResult,
    OcrWord,
    ocr_document,
    ocr_file,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PAGES", "PII_FIELDS", "DocumentFields",
           "OcrBlock", "OcrResult", "OcrWord", "ocr_document", "ocr_file"]
