#!/usr/bin/env python3
"""PyTorch twins of scoregen's end-to-end benchmark workloads (bench/workloads.ts), same work:

  mlp_train  one Adam step of the DSM loss for the 2-D MLP (hidden 128, 3 layers, Fourier
             embedding 32, scale 4) at batch 512, VP SDE (beta 0.1..20)
  pc2d       1,000-step predictor-corrector sampling (reverse diffusion + Langevin, snr 0.16) of
             1,000 2-D points with that MLP
  mnist_em   64 samples of the tutorial ScoreNet by Euler-Maruyama, 500 steps (VE, sigma = 25)
  mnist_bpd  bits/dim of 32 MNIST digits: probability-flow ODE by scipy's RK45 (rtol = atol = 1e-5)
             from t = 1e-5 to 1, Hutchinson (Rademacher) divergence, one network forward + one
             VJP per evaluation, uniform dequantization

The ScoreNet weights and the digits come from --shared (a safetensors file written by
`npm run bench -- --vs-torch`), so both engines evaluate the same network on the same data.
Prints one JSON line: {"engine": ..., "<workload>": {"<metric>_ms": median, ...}}.
Usage: /usr/bin/python3 bench/torch_twins.py --shared FILE [--threads N] [--only a,b] [--reps R]

With --serve it instead times single steps on request, for `npm run bench -- --vs-torch --lockstep`:
it prints "ready", then for each line naming a step (scorenet.train, scorenet.sample, scorenet.div,
mlp_train.train: the same work as ../shared/bench/torch_reference.py's scorenet steps and
mlp_train above) runs it once and prints its wall time in ms; "run mnist_em" / "run mnist_bpd" run
that whole workload taking turns with scoregen at every network evaluation (see Gate); "quit" ends it.
"""
import argparse, json, math, os, struct, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--reps", type=int, default=15)
ap.add_argument("--only", default="mlp_train,pc2d,mnist_em,mnist_bpd")
ap.add_argument("--shared", default=None)
ap.add_argument("--serve", action="store_true")
args = ap.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(args.threads)
torch.manual_seed(0)


def median_ms(fn, reps, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    return round(ts[len(ts) // 2], 2)


def read_safetensors(path):
    """name -> float32 tensor (the format: u64 header length, JSON header, raw little-endian data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", name
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(h["shape"]).copy())
    return out


act = lambda v: v * torch.sigmoid(v)


# ---- the 2-D MLP and the VP SDE --------------------------------------------------------------
class Fourier(nn.Module):
    def __init__(self, dim, scale):
        super().__init__()
        self.W = nn.Parameter(torch.randn(dim // 2) * scale, requires_grad=False)

    def forward(self, c):
        p = c[:, None] * self.W[None, :] * 2 * math.pi
        return torch.cat([torch.sin(p), torch.cos(p)], dim=-1)


class Mlp(nn.Module):
    def __init__(self, dim=2, hidden=128, layers=3, embed=32, scale=4.0):
        super().__init__()
        self.fourier, self.embed = Fourier(embed, scale), nn.Linear(embed, embed)
        self.dense = nn.ModuleList([nn.Linear(dim if i == 0 else hidden, hidden) for i in range(layers)])
        self.time = nn.ModuleList([nn.Linear(embed, hidden) for _ in range(layers)])
        self.out = nn.Linear(hidden, dim)

    def forward(self, x, c):
        e = act(self.embed(self.fourier(c)))
        h = x
        for d, t in zip(self.dense, self.time):
            h = act(d(h) + t(e))
        return self.out(h)


B0, B1 = 0.1, 20.0
vp_log_mean = lambda t: -0.25 * t * t * (B1 - B0) - 0.5 * t * B0
vp_std = lambda t: torch.sqrt(-torch.expm1(2 * vp_log_mean(t)))


def mlp_train():
    return {"train_ms": median_ms(mlp_train_step(), args.reps, 3)}


def mlp_train_step():
    """One Adam step of the DSM loss for the 2-D MLP at batch 512 (a closure over its state)."""
    net, n = Mlp(), 512
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x0 = torch.randn(n, 2)

    def step():
        t = torch.rand(n) * (1 - 1e-5) + 1e-5
        z = torch.randn_like(x0)
        mean, std = torch.exp(vp_log_mean(t))[:, None], vp_std(t)[:, None]
        score = -net(mean * x0 + std * z, t) / std
        loss = torch.mean((std[:, 0] ** 2) * torch.sum((score + z / std) ** 2, dim=1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def pc2d():
    net, n, steps, snr, eps = Mlp(), 1000, 1000, 0.16, 1e-3

    @torch.no_grad()
    def run():
        ts = torch.linspace(1.0, eps, steps + 1, dtype=torch.float64)
        x = torch.randn(n, 2, dtype=torch.float64)
        for i in range(steps):
            t, s = ts[i], ts[i + 1]
            ratio = torch.exp(vp_log_mean(t) - vp_log_mean(s))
            std_t = vp_std(t)
            score = lambda y: -net(y.float(), torch.full((n,), float(t))).double() / std_t
            # Langevin corrector at t (step size from the signal-to-noise ratio)
            g = score(x)
            z = torch.randn_like(x)
            e = 2 * (1 / ratio) ** 2 * (snr * z.norm(dim=1).mean() / g.norm(dim=1).mean()) ** 2
            x = x + e * g + torch.sqrt(2 * e) * z
            # reverse-diffusion predictor from t to s
            G2 = -torch.expm1(2 * (vp_log_mean(t) - vp_log_mean(s)))
            g = score(x)
            x = x - x * (1 / ratio - 1) + G2 * g + torch.sqrt(G2) * torch.randn_like(x)
        return x

    return {"run_ms": median_ms(run, 3, 1)}


# ---- the tutorial ScoreNet (VE SDE, sigma = 25) -------------------------------------------------
SIGMA = 25.0
ve_std = lambda t: torch.sqrt((SIGMA ** (2 * t) - 1.0) / 2.0 / math.log(SIGMA))


class ScoreNet(nn.Module):
    def __init__(self, ch=(32, 64, 128, 256), emb=256):
        super().__init__()
        self.embed = nn.Sequential(Fourier(emb, 30.0), nn.Linear(emb, emb))
        self.conv1 = nn.Conv2d(1, ch[0], 3, 1, bias=False)
        self.conv2 = nn.Conv2d(ch[0], ch[1], 3, 2, bias=False)
        self.conv3 = nn.Conv2d(ch[1], ch[2], 3, 2, bias=False)
        self.conv4 = nn.Conv2d(ch[2], ch[3], 3, 2, bias=False)
        self.tconv4 = nn.ConvTranspose2d(ch[3], ch[2], 3, 2, bias=False)
        self.tconv3 = nn.ConvTranspose2d(2 * ch[2], ch[1], 3, 2, bias=False, output_padding=1)
        self.tconv2 = nn.ConvTranspose2d(2 * ch[1], ch[0], 3, 2, bias=False, output_padding=1)
        self.tconv1 = nn.ConvTranspose2d(2 * ch[0], 1, 3, 1)
        self.dense = nn.ModuleList([nn.Linear(emb, c) for c in (ch[0], ch[1], ch[2], ch[3], ch[2], ch[1], ch[0])])
        self.norms = nn.ModuleList([nn.GroupNorm(g, c) for g, c in
                                    ((4, ch[0]), (32, ch[1]), (32, ch[2]), (32, ch[3]), (32, ch[2]), (32, ch[1]), (32, ch[0]))])

    def forward(self, x, t):
        e = act(self.embed(t))
        blk = lambda h, i: act(self.norms[i](h + self.dense[i](e)[:, :, None, None]))
        h1 = blk(self.conv1(x), 0)
        h2 = blk(self.conv2(h1), 1)
        h3 = blk(self.conv3(h2), 2)
        h4 = blk(self.conv4(h3), 3)
        h = blk(self.tconv4(h4), 4)
        h = blk(self.tconv3(torch.cat([h, h3], 1)), 5)
        h = blk(self.tconv2(torch.cat([h, h2], 1)), 6)
        h = self.tconv1(torch.cat([h, h1], 1))
        return h / ve_std(t)[:, None, None, None]


def scorenet(shared):
    model = ScoreNet()
    if shared:
        sd = model.state_dict()
        for name in sd:
            sd[name] = shared[name]
        model.load_state_dict(sd)
    return model


def scorenet_steps(shared):
    """The scorenet steps of ../shared/bench/torch_reference.py (same batches, loss and work) on the
    shared weights: an Adam step of the DSM loss at batch 32, an Euler-Maruyama step at batch 64,
    a Hutchinson divergence (VJP) at batch 16."""
    model = scorenet(shared)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(32, 1, 28, 28)

    def train():
        t = torch.rand(32) * (1 - 1e-5) + 1e-5
        z = torch.randn_like(x)
        std = ve_std(t)[:, None, None, None]
        score = model(x + z * std, t)
        loss = torch.mean(torch.sum((score * std + z) ** 2, dim=(1, 2, 3)))
        opt.zero_grad()
        loss.backward()
        opt.step()

    xs, dt = torch.randn(64, 1, 28, 28), 1.0 / 500

    @torch.no_grad()
    def sample():
        t = torch.full((64,), 0.5)
        g = (SIGMA ** t)[:, None, None, None]
        mean = xs + g ** 2 * model(xs, t) * dt
        return mean + math.sqrt(dt) * g * torch.randn_like(xs)

    xd = torch.randn(16, 1, 28, 28)
    probe = torch.randint(0, 2, xd.shape).float() * 2 - 1

    def div():
        xv = xd.clone().requires_grad_(True)
        s = torch.sum(model(xv, torch.full((16,), 0.5)) * probe)
        (v,) = torch.autograd.grad(s, xv)
        return torch.sum(v * probe, dim=(1, 2, 3))

    return {"scorenet.train": train, "scorenet.sample": sample, "scorenet.div": div}


def serve(steps, shared):
    """Time one named step per request line (protocol in the module docstring)."""
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name == "quit":
            break
        if name in ("run mnist_em", "run mnist_bpd"):
            run_gated(name[4:], shared)
            continue
        fn = steps.get(name)
        if fn is None:
            print(f"error: unknown step '{name}'; use one of: {', '.join(steps)}", flush=True)
            continue
        t0 = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t0) * 1000
        quiesce()
        print(f"{ms:.4f}", flush=True)


def mnist_em(shared):
    return {"run_ms": median_ms(mnist_em_run(scorenet(shared)), 3, 1)}


def mnist_em_run(model):
    """The 500-step Euler-Maruyama run of 64 samples with `model` (a closure)."""
    n, steps, eps = 64, 500, 1e-3

    @torch.no_grad()
    def run():
        ts = torch.linspace(1.0, eps, steps)
        dt = float(ts[0] - ts[1])
        x = torch.randn(n, 1, 28, 28) * ve_std(torch.tensor(1.0))
        for t in ts:
            g = SIGMA ** t
            mean = x + g ** 2 * model(x, torch.full((n,), float(t))) * dt
            x = mean + math.sqrt(dt) * g * torch.randn_like(x)
        return mean

    return run


def mnist_bpd(shared):
    run, nfe = mnist_bpd_run(scorenet(shared), shared)
    ms = median_ms(run, 1, 0)
    return {"run_ms": ms, "nfe": nfe[0]}


def mnist_bpd_run(model, shared):
    """The bits/dim run of the 32 digits with `model` (a closure) and its function-evaluation counter."""
    from scipy import integrate
    digits = shared["digits"] if shared else torch.rand(32, 1, 28, 28)
    n, dim, eps = digits.shape[0], 784, 1e-5
    nfe = [0]

    def run():
        x0 = ((digits * 255 + torch.rand_like(digits)) / 256).double()
        probe = (torch.randint(0, 2, digits.shape) * 2 - 1).float()

        def f(t, y):
            nfe[0] += 1
            x = torch.tensor(y[: n * dim], dtype=torch.float32).reshape(digits.shape).requires_grad_(True)
            with torch.enable_grad():
                s = model(x, torch.full((n,), t, dtype=torch.float32))
                (v,) = torch.autograd.grad(torch.sum(s * probe), x)
            g2 = SIGMA ** (2 * t)
            div = torch.sum(v * probe, dim=(1, 2, 3)).double()
            dx = (-0.5 * g2 * s.detach()).double().reshape(-1)
            return np.concatenate([dx.numpy(), (-0.5 * g2 * div).numpy()])

        y0 = np.concatenate([x0.reshape(-1).numpy(), np.zeros(n)])
        nfe[0] = 0
        r = integrate.solve_ivp(f, (eps, 1.0), y0, rtol=1e-5, atol=1e-5, method="RK45")
        z, delta = r.y[: n * dim, -1], r.y[n * dim:, -1]
        s1 = float(ve_std(torch.tensor(1.0)))
        prior = -dim / 2 * math.log(2 * math.pi * s1 ** 2) - (z.reshape(n, dim) ** 2).sum(1) / (2 * s1 ** 2)
        return -(prior + delta) / (dim * math.log(2)) + 8

    return run, nfe


def quiesce():
    """Waits (up to 300 ms) until this process uses under 10% of one CPU over 2 ms (OpenMP threads
    spin after a parallel region; scoregen waits the same way for ORT's threads)."""
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        c0, t0 = time.process_time(), time.perf_counter()
        time.sleep(0.002)
        if time.process_time() - c0 < 0.1 * (time.perf_counter() - t0):
            return


class Gate:
    """A model whose every evaluation first hands the turn to scoregen (--serve "run NAME"): it prints
    "yield", blocks until the line "go", and counts only the time between a "go" and the next yield."""

    def __init__(self, model):
        self.model, self.active, self.t0 = model, 0.0, 0.0

    def wait(self):
        line = sys.stdin.readline().strip()
        if line != "go":
            raise SystemExit(f"lockstep: expected 'go', got '{line}'")
        self.t0 = time.perf_counter()

    def __call__(self, *a):
        self.active += time.perf_counter() - self.t0
        quiesce()
        print("yield", flush=True)
        self.wait()
        return self.model(*a)


def run_gated(name, shared):
    """One end-to-end run taking turns with scoregen; prints "ready", then "done <active ms>" at the end."""
    gate = Gate(scorenet(shared))
    run = mnist_em_run(gate) if name == "mnist_em" else mnist_bpd_run(gate, shared)[0]
    print("ready", flush=True)
    gate.wait()
    run()
    gate.active += time.perf_counter() - gate.t0
    quiesce()
    print(f"done {gate.active * 1000:.3f}", flush=True)


shared = read_safetensors(args.shared) if args.shared else None
if args.serve:
    serve({**scorenet_steps(shared), "mlp_train.train": mlp_train_step()}, shared)
    raise SystemExit(0)
out = {"engine": f"pytorch-{torch.__version__}", "threads": args.threads}
for name in args.only.split(","):
    if name == "mlp_train":
        out[name] = mlp_train()
    elif name == "pc2d":
        out[name] = pc2d()
    elif name in ("mnist_em", "mnist_bpd"):
        out[name] = globals()[name](shared)
    else:
        raise SystemExit(f"unknown workload '{name}'; use some of: mlp_train, pc2d, mnist_em, mnist_bpd")
print(json.dumps(out))
