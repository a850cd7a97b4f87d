"""LLM routing: LiteLLM Router over the packaged local model and configured providers.

Importing this package makes litellm read its bundled price map instead of fetching one
from the network at import time (`LITELLM_LOCAL_MODEL_COST_MAP`).
"""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
