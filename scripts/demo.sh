#!/usr/bin/env bash
# The README's main command: installs dependencies, builds, and runs the main job: a precis-cli
# demonstration on a real model (stories260K from ../shared/models when present, otherwise a
# generated ~15M-parameter model): model info, greedy generation, and an evaluation of q8_0 and
# q4_0 weights against full precision (perplexity, KL divergence, top-1 agreement).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build="${BUILD_DIR:-build}"
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target precis-cli
cli="$build/app/cli/precis-cli"
model="${PRECIS_MODELS_DIR:-../shared/models}/stories260K.bin"
if [ ! -f "$model" ]; then
  model="$build/demo-15m.gguf"
  [ -f "$model" ] || "$cli" make-model --preset 15m --out "$model" --seed 1
fi
echo "== precis-cli info $model"; "$cli" info "$model"
echo "== greedy generation from BOS"; "$cli" generate "$model" --tokens 1 -n 24
for fmt in q8_0 q4_0; do
  echo "== eval --weights $fmt (256 tokens sampled from the model itself)"
  "$cli" eval "$model" --sample 256 --seed 1 --weights "$fmt"
done
