#!/usr/bin/env python3
"""Train the clbake demo CNN on scikit-learn's bundled 8x8 digits data set.

Plain numpy, hand-written forward and backward passes (no torch).  Running

    pip install -r models/requirements.txt && python3 models/train.py

(re)writes, next to this file:

    digits.safetensors       the six weight tensors (F32)
    digits_test.safetensors  the test split + reference logits/probabilities
    reference.json           figures (accuracy, counts, seed, sha256 of files)

Architecture (NCHW, float32), reproduced by the OpenCL kernels:

    x [N,1,8,8]
    conv1 3x3 pad 1 (8 out)  -> ReLU -> maxpool 2x2/2 -> [N,8,4,4]
    conv2 3x3 pad 1 (16 out) -> ReLU -> maxpool 2x2/2 -> [N,16,2,2]
    flatten (c*4 + h*2 + w)  -> [N,64]
    fc  y = x @ W^T + b      -> logits [N,10] -> softmax

Convolution is cross-correlation:
    out[co,y,x] = b[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] * in[ci, y+ky-1, x+kx-1]
"""

import os

# Single-threaded BLAS: keeps summation order (and so every bit of the output)
# fixed from run to run.  Must be set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
import safetensors
import sklearn
from safetensors import safe_open
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent

SEED = 0
EPOCHS = 30
BATCH = 32
LR = 3e-3          # Adam
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
DTYPE = np.float32

ARCH = ("conv3x3(1->8,pad1)+relu+maxpool2 > conv3x3(8->16,pad1)+relu+maxpool2 "
        "> flatten(CHW,64) > fc(64->10) > softmax; NCHW f32, input 8x8 scaled /16")

PARAM_SHAPES = {
    "conv1.weight": (8, 1, 3, 3),
    "conv1.bias": (8,),
    "conv2.weight": (16, 8, 3, 3),
    "conv2.bias": (16,),
    "fc.weight": (10, 64),
    "fc.bias": (10,),
}


# ----------------------------------------------------------------------------
# layers (vectorised)
# ----------------------------------------------------------------------------

def im2col3x3(x):
    """x [N,C,H,W] -> cols [N, C*9, H*W], zero padding 1, index (c, ky, kx)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, c, 3, 3, h, w), dtype=x.dtype)
    for ky in range(3):
        for kx in range(3):
            cols[:, :, ky, kx] = xp[:, :, ky:ky + h, kx:kx + w]
    return cols.reshape(n, c * 9, h * w)


def col2im3x3(dcols, shape):
    """Adjoint of im2col3x3: dcols [N, C*9, H*W] -> dx [N,C,H,W]."""
    n, c, h, w = shape
    dcols = dcols.reshape(n, c, 3, 3, h, w)
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    for ky in range(3):
        for kx in range(3):
            dxp[:, :, ky:ky + h, kx:kx + w] += dcols[:, :, ky, kx]
    return dxp[:, :, 1:-1, 1:-1]


def conv_forward(x, w, b):
    n, c, h, wd = x.shape
    co = w.shape[0]
    cols = im2col3x3(x)                                   # [N, C*9, HW]
    out = np.matmul(w.reshape(co, c * 9), cols)           # [N, Co, HW]
    out += b[None, :, None]
    return out.reshape(n, co, h, wd), cols


def conv_backward(dout, cols, x_shape, w):
    n, c, h, wd = x_shape
    co = w.shape[0]
    d = dout.reshape(n, co, h * wd)
    dw = np.einsum("nos,nks->ok", d, cols).reshape(w.shape)
    db = d.sum(axis=(0, 2))
    dcols = np.matmul(w.reshape(co, c * 9).T, d)         # [N, C*9, HW]
    dx = col2im3x3(dcols, x_shape)
    return dx, dw, db


def pool_forward(x):
    """2x2 max pool, stride 2.  Returns out and argmax within each window."""
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    win = win.reshape(n, c, h // 2, w // 2, 4)
    idx = win.argmax(axis=-1)
    out = np.take_along_axis(win, idx[..., None], axis=-1)[..., 0]
    return out, idx


def pool_backward(dout, idx, x_shape):
    n, c, h, w = x_shape
    dwin = np.zeros((n, c, h // 2, w // 2, 4), dtype=dout.dtype)
    np.put_along_axis(dwin, idx[..., None], dout[..., None], axis=-1)
    dwin = dwin.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return dwin.reshape(n, c, h, w)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def forward(p, x, keep=False):
    a1, cols1 = conv_forward(x, p["conv1.weight"], p["conv1.bias"])
    r1 = np.maximum(a1, 0)
    p1, i1 = pool_forward(r1)
    a2, cols2 = conv_forward(p1, p["conv2.weight"], p["conv2.bias"])
    r2 = np.maximum(a2, 0)
    p2, i2 = pool_forward(r2)
    f = p2.reshape(p2.shape[0], -1)                       # c*4 + h*2 + w
    logits = f @ p["fc.weight"].T + p["fc.bias"]
    if not keep:
        return logits
    cache = dict(x=x, a1=a1, cols1=cols1, r1=r1, p1=p1, i1=i1,
                 a2=a2, cols2=cols2, r2=r2, p2=p2, i2=i2, f=f)
    return logits, cache


def loss_and_grads(p, x, y):
    """Mean softmax cross-entropy and gradients w.r.t. all parameters."""
    logits, c = forward(p, x, keep=True)
    n = x.shape[0]
    prob = softmax(logits)
    loss = -np.log(prob[np.arange(n), y] + 1e-12).mean()
    dlog = prob
    dlog[np.arange(n), y] -= 1
    dlog /= n
    g = {}
    g["fc.weight"] = dlog.T @ c["f"]
    g["fc.bias"] = dlog.sum(axis=0)
    df = dlog @ p["fc.weight"]
    dp2 = df.reshape(c["p2"].shape)
    dr2 = pool_backward(dp2, c["i2"], c["r2"].shape)
    da2 = dr2 * (c["a2"] > 0)
    dp1, g["conv2.weight"], g["conv2.bias"] = conv_backward(
        da2, c["cols2"], c["p1"].shape, p["conv2.weight"])
    dr1 = pool_backward(dp1, c["i1"], c["r1"].shape)
    da1 = dr1 * (c["a1"] > 0)
    _, g["conv1.weight"], g["conv1.bias"] = conv_backward(
        da1, c["cols1"], c["x"].shape, p["conv1.weight"])
    return loss, g


# ----------------------------------------------------------------------------
# independent reference: naive loops straight from the definition
# ----------------------------------------------------------------------------

def naive_forward_one(p, img):
    """img [1,8,8] -> logits [10], plain Python loops in float64."""
    P = {k: v.astype(np.float64) for k, v in p.items()}

    def conv(inp, w, b):
        ci_n, h, wd = inp.shape
        co_n = w.shape[0]
        out = np.zeros((co_n, h, wd))
        for co in range(co_n):
            for yy in range(h):
                for xx in range(wd):
                    s = b[co]
                    for ci in range(ci_n):
                        for ky in range(3):
                            for kx in range(3):
                                iy, ix = yy + ky - 1, xx + kx - 1
                                if 0 <= iy < h and 0 <= ix < wd:
                                    s += w[co, ci, ky, kx] * inp[ci, iy, ix]
                    out[co, yy, xx] = s
        return out

    def relu(a):
        return np.array([[[max(v, 0.0) for v in row] for row in ch] for ch in a])

    def pool(a):
        c, h, w = a.shape
        out = np.zeros((c, h // 2, w // 2))
        for ch in range(c):
            for yy in range(h // 2):
                for xx in range(w // 2):
                    out[ch, yy, xx] = max(a[ch, 2 * yy + dy, 2 * xx + dx]
                                          for dy in range(2) for dx in range(2))
        return out

    h = pool(relu(conv(img.astype(np.float64), P["conv1.weight"], P["conv1.bias"])))
    h = pool(relu(conv(h, P["conv2.weight"], P["conv2.bias"])))
    flat = [h[c, yy, xx] for c in range(16) for yy in range(2) for xx in range(2)]
    logits = np.zeros(10)
    for o in range(10):
        s = P["fc.bias"][o]
        for i in range(64):
            s += P["fc.weight"][o, i] * flat[i]
        logits[o] = s
    return logits


def gradient_check(p, x, y, rng):
    """Central differences in float64 on a few coordinates of every tensor."""
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    # Non-zero biases: with zero biases, background pixels (value 0) sit exactly
    # on the ReLU kink and finite differences of a bias are meaningless there.
    for k in ("conv1.bias", "conv2.bias", "fc.bias"):
        p64[k] = p64[k] + 0.1 * rng.standard_normal(p64[k].shape)
    x64 = x.astype(np.float64)
    _, g = loss_and_grads(p64, x64, y)
    worst = 0.0
    h = 1e-6
    for name, t in p64.items():
        flat = t.reshape(-1)
        for j in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            old = flat[j]
            flat[j] = old + h
            lp, _ = loss_and_grads(p64, x64, y)
            flat[j] = old - h
            lm, _ = loss_and_grads(p64, x64, y)
            flat[j] = old
            num = (lp - lm) / (2 * h)
            ana = g[name].reshape(-1)[j]
            rel = abs(num - ana) / max(1e-8, abs(num) + abs(ana))
            worst = max(worst, rel)
    return worst


# ----------------------------------------------------------------------------

def init_params(rng):
    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(DTYPE)
    return {
        "conv1.weight": he((8, 1, 3, 3), 9),
        "conv1.bias": np.zeros(8, DTYPE),
        "conv2.weight": he((16, 8, 3, 3), 72),
        "conv2.bias": np.zeros(16, DTYPE),
        "fc.weight": (rng.standard_normal((10, 64)) * np.sqrt(1.0 / 64)).astype(DTYPE),
        "fc.bias": np.zeros(10, DTYPE),
    }


ST_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8",
             np.dtype(np.int64): "I64"}


def save_safetensors(tensors, path, metadata):
    """Write a .safetensors file byte-for-byte reproducibly.

    safetensors' own save_file stores __metadata__ through a Rust HashMap, so
    the key order (and so the file's hash) changes from run to run.  The format
    is simple: u64 little-endian header length, JSON header (padded with spaces
    to a multiple of 8), then the raw little-endian tensor data.  Tensors are
    laid out as safetensors does it: larger dtypes first, then by name.
    """
    names = sorted(tensors, key=lambda k: (-tensors[k].dtype.itemsize, k))
    header = {"__metadata__": {k: metadata[k] for k in sorted(metadata)}}
    blobs, offset = [], 0
    for k in names:
        t = np.ascontiguousarray(tensors[k])
        b = t.astype(t.dtype.newbyteorder("<"), copy=False).tobytes()
        header[k] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                     "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    Path(path).write_bytes(len(h).to_bytes(8, "little") + h + b"".join(blobs))
    # read it back with the reference implementation
    with safe_open(str(path), framework="np") as f:
        assert f.metadata() == metadata
        assert sorted(f.keys()) == sorted(tensors)
        for k in tensors:
            back = f.get_tensor(k)
            assert back.dtype == tensors[k].dtype and np.array_equal(back, tensors[k]), k


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main():
    t_start = time.perf_counter()
    digits = load_digits()
    X = (digits.data.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=y)
    x_tr = np.ascontiguousarray(x_tr, dtype=DTYPE)
    x_te = np.ascontiguousarray(x_te, dtype=DTYPE)
    print(f"train {len(y_tr)}  test {len(y_te)}")

    rng = np.random.default_rng(SEED)
    params = init_params(rng)

    # backward pass sanity check (float64 copy, tiny batch)
    worst = gradient_check(params, x_tr[:8], y_tr[:8], np.random.default_rng(SEED + 1))
    print(f"gradient check: worst relative error {worst:.2e}")
    assert worst < 1e-5, worst

    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    step = 0
    t_train = time.perf_counter()
    for epoch in range(1, EPOCHS + 1):
        order = rng.permutation(len(y_tr))
        total = 0.0
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            loss, g = loss_and_grads(params, x_tr[idx], y_tr[idx])
            total += loss * len(idx)
            step += 1
            lr_t = LR * np.sqrt(1 - BETA2 ** step) / (1 - BETA1 ** step)
            for k in params:
                m[k] = BETA1 * m[k] + (1 - BETA1) * g[k]
                v[k] = BETA2 * v[k] + (1 - BETA2) * g[k] * g[k]
                params[k] = (params[k] - lr_t * m[k] / (np.sqrt(v[k]) + EPS)).astype(DTYPE)
        if epoch % 5 == 0 or epoch == 1:
            tr_acc = (forward(params, x_tr).argmax(1) == y_tr).mean()
            te_acc = (forward(params, x_te).argmax(1) == y_te).mean()
            print(f"epoch {epoch:3d}  loss {total / len(y_tr):.4f}  "
                  f"train {tr_acc:.4f}  test {te_acc:.4f}")
    train_seconds = time.perf_counter() - t_train

    for k, shape in PARAM_SHAPES.items():
        assert params[k].shape == shape and params[k].dtype == np.float32, k
        params[k] = np.ascontiguousarray(params[k])

    # reference outputs (float32 forward pass)
    logits = forward(params, x_te).astype(np.float32)
    probs = softmax(logits).astype(np.float32)
    pred = logits.argmax(1)
    correct = int((pred == y_te).sum())
    acc = correct / len(y_te)

    # independent check of the vectorised forward pass
    max_diff = 0.0
    for i in range(3):
        ref = naive_forward_one(params, x_te[i])
        max_diff = max(max_diff, float(np.abs(ref - logits[i]).max()))
    print(f"naive vs vectorised logits (3 images): max abs diff {max_diff:.2e}")
    assert max_diff < 1e-5, max_diff

    w_path = HERE / "digits.safetensors"
    t_path = HERE / "digits_test.safetensors"
    save_safetensors(params, w_path, metadata={"format": "clbake-demo", "arch": ARCH})
    save_safetensors({
        "images": np.ascontiguousarray(x_te, dtype=np.float32),
        "labels": y_te.astype(np.uint8),
        "reference_logits": np.ascontiguousarray(logits),
        "reference_probs": np.ascontiguousarray(probs),
    }, t_path, metadata={
        "format": "clbake-demo-test",
        "split": f"load_digits() /16, train_test_split(test_size=0.25, "
                 f"random_state={SEED}, stratify=y), test part",
    })

    ref = {
        "model": "clbake demo digits CNN",
        "arch": ARCH,
        "dataset": "sklearn.datasets.load_digits (1797 images 8x8, /16)",
        "split": {"test_size": 0.25, "random_state": SEED, "stratify": True},
        "train_count": int(len(y_tr)),
        "test_count": int(len(y_te)),
        "correct": correct,
        "accuracy": acc,
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "optimizer": f"Adam(lr={LR}, betas=({BETA1},{BETA2}), eps={EPS})",
        "seed": SEED,
        "naive_check_max_abs_diff": max_diff,
        "weights_sha256": sha256_file(w_path),
        "test_data_sha256": sha256_file(t_path),
        "files": {
            "digits.safetensors": {"bytes": w_path.stat().st_size,
                                   "sha256": sha256_file(w_path)},
            "digits_test.safetensors": {"bytes": t_path.stat().st_size,
                                        "sha256": sha256_file(t_path)},
        },
        "tensors": {
            "digits.safetensors": {k: {"dtype": "F32", "shape": list(v.shape)}
                                   for k, v in params.items()},
            "digits_test.safetensors": {
                "images": {"dtype": "F32", "shape": list(x_te.shape)},
                "labels": {"dtype": "U8", "shape": [len(y_te)]},
                "reference_logits": {"dtype": "F32", "shape": list(logits.shape)},
                "reference_probs": {"dtype": "F32", "shape": list(probs.shape)},
            },
        },
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__,
                     "safetensors": safetensors.__version__},
    }
    text = json.dumps(ref, indent=2)
    # keep shape lists on one line
    text = re.sub(r"\[\s+([0-9,\s]+?)\s+\]",
                  lambda mo: "[" + ", ".join(mo.group(1).replace(",", " ").split()) + "]",
                  text)
    (HERE / "reference.json").write_text(text + "\n")
    print(f"test accuracy {acc:.4f} ({correct}/{len(y_te)})  "
          f"train time {train_seconds:.1f}s  total {time.perf_counter() - t_start:.1f}s")


if __name__ == "__main__":
    main()
