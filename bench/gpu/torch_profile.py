"""GPU anchor: exact entanglement profile over every cut with torch (per-cut Gram + eigvalsh, f64).
usage: python3 torch_profile.py ROWS COLS [REPEATS]"""
import sys, time
import torch
rows, cols = int(sys.argv[1]), int(sys.argv[2])
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
dev = "cuda"
x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(0)).to(torch.float32).to(torch.float64).to(dev)
def factors(n):
    f, p = [], 2
    while n > 1:
        while n % p == 0: f.append(p); n //= p
        p += 1
    return f
dims = factors(rows) + factors(cols)
def profile():
    v = x.reshape(-1); dl = 1; S = []
    for k in range(1, len(dims)):
        dl *= dims[k - 1]
        m = v.reshape(dl, -1)
        g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        p = torch.clamp(torch.linalg.eigvalsh(g), min=0)
        p = p / p.sum(); p = p[p > 0]; S.append(float(-(p * torch.log(p)).sum()))
    torch.cuda.synchronize()
    return S
profile()
ts = []
for _ in range(reps):
    t = time.perf_counter(); S = profile(); ts.append(time.perf_counter() - t)
ts.sort()
print(f"torch {rows}x{cols} f64 per-cut Gram: median {ts[len(ts)//2]:.4f} s over {reps}  mid S={S[len(S)//2]:.6f}")
