#!/usr/bin/env bash
# Builds what the GPU machine needs to run the CUDA engine's bench (it has CUDA and Python, no Java):
# a jlink'd Java runtime (~42 MB), analysis-core's classes and the bench's, under bench/gpu/carry (git-ignored).
# Then, with the device tool:  run(command="bench/gpu/run.sh", carry=["bench/gpu/carry"])
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
JDK=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
CORE="$ROOT/services/analysis-core/target/classes"
BENCH="$ROOT/bench/target/classes"
[[ -d "$CORE" && -d "$BENCH" ]] || (cd "$ROOT" && JAVA_HOME="$JDK" ./mvnw -B -q -pl bench -am install -DskipTests)
rm -rf carry && mkdir -p carry
"$JDK/bin/jlink" --add-modules java.base --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output carry/jre
cp -r "$CORE" carry/classes
rm -rf carry/classes/dev/entangle/natives   # the CPU engine's OpenBLAS (40 MB): the GPU bench does not use it
cp -r "$BENCH/dev/entangle/bench" carry/classes/dev/entangle/   # CudaBench and its helpers (the CPU benches come along, never loaded)
du -sh carry
