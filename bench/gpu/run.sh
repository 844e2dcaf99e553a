#!/usr/bin/env bash
# On the GPU machine: the CUDA engine's bench, then torch's per-cut Gram anchor on the same GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CUDA_DIR=${ENTANGLE_CUDA_LIB_DIR:-$(dirname "$(ls /usr/local/cuda*/lib64/libcublas.so.* 2>/dev/null | head -1)" 2>/dev/null || true)}
export ENTANGLE_CUDA_LIB_DIR=$CUDA_DIR
carry/jre/bin/java --enable-native-access=ALL-UNNAMED -Xmx8g -cp carry/classes dev.entangle.bench.CudaBench "${1:-5}"
python3 torch_profile.py 2048 2048 || true
python3 torch_profile.py 4096 4096 || true
