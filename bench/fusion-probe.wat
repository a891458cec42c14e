;; Measurement only (bench/fusion-probe.ts), not used by the library: would a fused group-norm + SiLU
;; kernel in WebAssembly SIMD beat ONNX Runtime's chain of unfused nodes for the same block? Four
;; float32 lanes; activations x [N, C, HW] with HW a multiple of 4; all pointers are byte offsets
;; into the imported memory, 16-byte aligned.
(module
  (import "env" "memory" (memory 1))

  ;; Σ v and Σ v² over n values at p (one pass), added into the two float64 at out
  (func $stats (export "stats") (param $p i32) (param $n i32) (param $out i32)
    (local $end i32) (local $s v128) (local $q v128) (local $v v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $v (v128.load (local.get $p)))
      (local.set $s (f32x4.add (local.get $s) (local.get $v)))
      (local.set $q (f32x4.add (local.get $q) (f32x4.mul (local.get $v) (local.get $v))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $next)))
    (f64.store (local.get $out) (f64.add (f64.load (local.get $out)) (call $lanes (local.get $s))))
    (f64.store offset=8 (local.get $out) (f64.add (f64.load offset=8 (local.get $out)) (call $lanes (local.get $q)))))

  (func $lanes (param $v v128) (result f64)
    (f64.promote_f32 (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v))))))

  ;; y = x·a + b over n values (the linear part alone: what a fused pass costs without SiLU)
  (func (export "affine") (param $x i32) (param $y i32) (param $n i32) (param $a f32) (param $b f32)
    (local $end i32) (local $av v128) (local $bv v128)
    (local.set $av (f32x4.splat (local.get $a)))
    (local.set $bv (f32x4.splat (local.get $b)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (v128.store (local.get $y) (f32x4.add (f32x4.mul (v128.load (local.get $x)) (local.get $av)) (local.get $bv)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $next))))

  ;; y = t·σ(t) with t = x·a + b over n values. e^−t: −t clamped to ±87, k = round(−t·log2 e) by the
  ;; 1.5·2^23 trick (its low mantissa bits hold k), r = −t − k·ln 2 in two parts, a degree-6
  ;; polynomial for e^r, times 2^k built in the exponent field. Relative error ~1e-7.
  (func $silu (export "silu") (param $x i32) (param $y i32) (param $n i32) (param $a f32) (param $b f32)
    (local $end i32) (local $av v128) (local $bv v128) (local $t v128) (local $u v128) (local $kf v128)
    (local $r v128) (local $p v128) (local $lim v128) (local $log2e v128) (local $magic v128) (local $one v128)
    (local.set $av (f32x4.splat (local.get $a)))
    (local.set $bv (f32x4.splat (local.get $b)))
    (local.set $lim (f32x4.splat (f32.const 87)))
    (local.set $log2e (f32x4.splat (f32.const 1.44269504)))
    (local.set $magic (f32x4.splat (f32.const 12582912)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $t (f32x4.add (f32x4.mul (v128.load (local.get $x)) (local.get $av)) (local.get $bv)))
      (local.set $u (f32x4.pmin (f32x4.pmax (f32x4.neg (local.get $t)) (f32x4.neg (local.get $lim))) (local.get $lim)))
      (local.set $kf (f32x4.add (f32x4.mul (local.get $u) (local.get $log2e)) (local.get $magic)))
      (local.set $r (f32x4.sub (local.get $kf) (local.get $magic)))
      (local.set $r (f32x4.sub
        (f32x4.sub (local.get $u) (f32x4.mul (local.get $r) (f32x4.splat (f32.const 0.693145751953125))))
        (f32x4.mul (local.get $r) (f32x4.splat (f32.const 1.428606765330187e-06)))))
      (local.set $p (f32x4.add (f32x4.mul (f32x4.splat (f32.const 1.3888889e-3)) (local.get $r)) (f32x4.splat (f32.const 8.333333e-3))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.1666668e-2))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 0.16666667))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 0.5))))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (local.get $one)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (local.get $one)))
      (local.set $p (f32x4.mul (local.get $p)
        (i32x4.shl (i32x4.sub (local.get $kf) (i32x4.splat (i32.const 0x4B3FFF81))) (i32.const 23))))
      (v128.store (local.get $y) (f32x4.div (local.get $t) (f32x4.add (local.get $one) (local.get $p))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $next))))

  ;; The whole block for images [n0, n1): v = x + e[n, c] (the time embedding), group norm over C/G
  ;; channels × HW (biased variance, eps 1e-5), affine γ, β per channel, SiLU. Two passes over x:
  ;; the statistics, then one fused write. 16 bytes of scratch at tmp.
  (func (export "gnSilu") (param $x i32) (param $y i32) (param $e i32) (param $g i32) (param $b i32)
      (param $n0 i32) (param $n1 i32) (param $C i32) (param $HW i32) (param $G i32) (param $tmp i32)
    (local $n i32) (local $grp i32) (local $c i32) (local $cpg i32) (local $ch i32) (local $plane i32)
    (local $sum f64) (local $sq f64) (local $mean f64) (local $inv f64) (local $cnt f64) (local $hw f64)
    (local $ev f64) (local $a f64)
    (local.set $cpg (i32.div_u (local.get $C) (local.get $G)))
    (local.set $hw (f64.convert_i32_u (local.get $HW)))
    (local.set $cnt (f64.mul (f64.convert_i32_u (local.get $cpg)) (local.get $hw)))
    (local.set $n (local.get $n0))
    (block $doneN (loop $nextN
      (br_if $doneN (i32.ge_u (local.get $n) (local.get $n1)))
      (local.set $grp (i32.const 0))
      (block $doneG (loop $nextG
        (br_if $doneG (i32.ge_u (local.get $grp) (local.get $G)))
        ;; statistics of v = x + e: Σv = Σx + HW·e, Σv² = Σx² + 2e·Σx + HW·e²
        (local.set $sum (f64.const 0))
        (local.set $sq (f64.const 0))
        (local.set $c (i32.const 0))
        (block $doneC (loop $nextC
          (br_if $doneC (i32.ge_u (local.get $c) (local.get $cpg)))
          (local.set $ch (i32.add (i32.mul (local.get $grp) (local.get $cpg)) (local.get $c)))
          (local.set $plane (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $ch)))
          (f64.store (local.get $tmp) (f64.const 0))
          (f64.store offset=8 (local.get $tmp) (f64.const 0))
          (call $stats (i32.add (local.get $x) (i32.shl (i32.mul (local.get $plane) (local.get $HW)) (i32.const 2)))
            (local.get $HW) (local.get $tmp))
          (local.set $ev (f64.promote_f32 (f32.load (i32.add (local.get $e) (i32.shl (local.get $plane) (i32.const 2))))))
          (local.set $sum (f64.add (local.get $sum)
            (f64.add (f64.load (local.get $tmp)) (f64.mul (local.get $hw) (local.get $ev)))))
          (local.set $sq (f64.add (local.get $sq) (f64.add (f64.load offset=8 (local.get $tmp))
            (f64.mul (local.get $ev) (f64.add (f64.mul (f64.const 2) (f64.load (local.get $tmp)))
              (f64.mul (local.get $hw) (local.get $ev)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $nextC)))
        (local.set $mean (f64.div (local.get $sum) (local.get $cnt)))
        (local.set $inv (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.const 1e-5)
          (f64.sub (f64.div (local.get $sq) (local.get $cnt)) (f64.mul (local.get $mean) (local.get $mean)))))))
        ;; y = silu(x·a + b) with a = γ/σ, b = β + (e − mean)·a per channel
        (local.set $c (i32.const 0))
        (block $doneW (loop $nextW
          (br_if $doneW (i32.ge_u (local.get $c) (local.get $cpg)))
          (local.set $ch (i32.add (i32.mul (local.get $grp) (local.get $cpg)) (local.get $c)))
          (local.set $plane (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $ch)))
          (local.set $ev (f64.promote_f32 (f32.load (i32.add (local.get $e) (i32.shl (local.get $plane) (i32.const 2))))))
          (local.set $a (f64.mul (local.get $inv)
            (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.shl (local.get $ch) (i32.const 2)))))))
          (call $silu
            (i32.add (local.get $x) (i32.shl (i32.mul (local.get $plane) (local.get $HW)) (i32.const 2)))
            (i32.add (local.get $y) (i32.shl (i32.mul (local.get $plane) (local.get $HW)) (i32.const 2)))
            (local.get $HW)
            (f32.demote_f64 (local.get $a))
            (f32.demote_f64 (f64.add
              (f64.promote_f32 (f32.load (i32.add (local.get $b) (i32.shl (local.get $ch) (i32.const 2)))))
              (f64.mul (f64.sub (local.get $ev) (local.get $mean)) (local.get $a)))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $nextW)))
        (local.set $grp (i32.add (local.get $grp) (i32.const 1)))
        (br $nextG)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nextN))))
)
