# Independent float64 oracle of PEFT DoRA's weight update, for DoraDeltaTest.
#   W' = m * (W0 + s B A) / ||W0 + s B A||  (norm of each output row: torch.linalg.norm(W, dim=1)
#   of the [out, in] weight, peft.tuners.lora.dora.DoraLinearLayer.get_weight_norm), dW = W' - W0.
# Reads the safetensors files itself (8-byte header length, JSON header, raw little-endian data).
# usage: dora_oracle.py ADAPTER_DIR BASE_SAFETENSORS OUT_DIR; writes OUT_DIR/layers.{i}.{module}.f64
# (row-major float64, in the stored layout) and prints "layers.{i}.{module} ROWS COLS" per module.
import json, re, struct, sys

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype=DTYPES[v["dtype"]]).astype(np.float64).reshape(v["shape"])
    return out


def pattern(patterns, name, default):
    # peft.utils.other.get_pattern_key: the first pattern p with (.*\.)?(p)$ matching the name
    for p, v in (patterns or {}).items():
        if re.match(rf"(.*\.)?({p})$", name):
            return v
    return default


adapter_dir, base_file, out_dir = sys.argv[1:4]
cfg = json.load(open(adapter_dir + "/adapter_config.json"))
ad = read_safetensors(adapter_dir + "/adapter_model.safetensors")
base = read_safetensors(base_file)
for key in sorted(ad):
    if not key.endswith(".lora_A.weight"):
        continue
    prefix = key[: -len(".lora_A.weight")]
    name = prefix[len("base_model.model."):] if prefix.startswith("base_model.model.") else prefix
    A = ad[key]
    B = ad[prefix + ".lora_B.weight"]
    m = ad[prefix + ".lora_magnitude_vector"]
    W0 = base[name + ".weight"]
    r = pattern(cfg.get("rank_pattern"), name, cfg["r"])
    alpha = pattern(cfg.get("alpha_pattern"), name, cfg["lora_alpha"])
    s = alpha / np.sqrt(r) if cfg.get("use_rslora") else alpha / r
    fif = bool(cfg.get("fan_in_fan_out"))
    W = W0.T if fif else W0                      # [out, in]
    V = W + s * (B @ A)
    norm = np.linalg.norm(V, axis=1)             # one norm per output row
    dW = (m / norm)[:, None] * V - W
    if fif:
        dW = dW.T                                # back to the stored [in, out] layout
    layer = re.search(r"layers\.(\d+)\.", name).group(1)
    module = name.split(".")[-1]
    target = f"layers.{layer}.{module}"
    np.ascontiguousarray(dW, dtype="<f8").tofile(f"{out_dir}/{target}.f64")
    print(target, dW.shape[0], dW.shape[1])
