#!/usr/bin/env bash
# The README's main command: installs dependencies, builds, builds the built-in demo models once
# (a teacher and a distilled student trained on Precis's own synthetic story corpus; cached in
# ~/.local/share/precis/demo, no download), then opens the workbench on the demo teacher.
# Without a display (no $DISPLAY / $WAYLAND_DISPLAY) it runs the same demonstration on the
# command line instead: model info, a generated story, and q8_0 / q4_0 evaluations against f32 on the demo corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build="${BUILD_DIR:-build}"
cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target precis-cli precis
cli="$build/app/cli/precis-cli"
demo_dir="${XDG_DATA_HOME:-$HOME/.local/share}/precis/demo"
"$cli" demo-models --out "$demo_dir"
model="$demo_dir/demo-teacher.gguf"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$build/app/precis/precis" "$model"
fi
echo "(no display: running the demonstration on the command line; the workbench is $build/app/precis/precis)"
echo "== precis-cli info $model"; "$cli" info "$model" | head -20
echo "== a story from the demo teacher"; "$cli" generate "$model" --prompt "Once upon a time" -n 48 --seed 1 --temperature 0.8
stories="$(mktemp)"; head -n 40 "$demo_dir/stories.txt" > "$stories"
for fmt in q8_0 q4_0; do
  echo "== eval --weights $fmt on 40 stories of the demo corpus"
  "$cli" eval "$model" --text "$stories" --weights "$fmt" --no-log
done
rm -f "$stories"
