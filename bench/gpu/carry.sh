#!/usr/bin/env bash
# Builds what the GPU machine needs to run the CUDA engine (it has CUDA and Python, no Java):
# a jlink'd Java runtime (~42 MB) and analysis-core's classes, under bench/gpu/carry (git-ignored).
# Then, with the device tool:  run(command="bench/gpu/run.sh", carry=["bench/gpu/carry"])
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(cd ../.. && pwd)
JDK=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -d "$ROOT/services/analysis-core/target/classes" ] || (cd "$ROOT" && ./mvnw -B -q -pl services/analysis-core -am install -DskipTests)
rm -rf carry && mkdir -p carry
"$JDK/bin/jlink" --add-modules java.base --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output carry/jre
cp -r "$ROOT/services/analysis-core/target/classes" carry/classes
rm -rf carry/classes/dev/entangle/natives   # the CPU engine's OpenBLAS (40 MB): the GPU bench does not use it
du -sh carry
