;; Optimizer kernels of the host update (optim-host.ts) in WebAssembly SIMD, four float32 lanes at a
;; time. Assembled into host-kernels.wasm.ts by `npm run build:wasm`; test/host-kernels.test.ts checks
;; that the embedded bytes are this file's and that the kernels equal host-kernels.ts's scalar twin
;; bit for bit.
;;
;; Arrays are float32 at byte offsets into the imported memory; n counts values and is a multiple of 4
;; (the arena pads every region). Arithmetic is IEEE float32, one rounding per operation in the order
;; written (wasm never fuses a multiply and an add); Σ g² accumulates in float64: lane 0 takes values
;; 4k and 4k+2, lane 1 values 4k+1 and 4k+3, summed at the end.
(module
  (import "env" "memory" (memory 1))

  ;; acc + (g[0]², g[1]²) + (g[2]², g[3]²) in float64 for one vector of four float32 values
  (func $squares (param $acc v128) (param $x v128) (result v128)
    (local $lo v128) (local $hi v128)
    (local.set $lo (f64x2.promote_low_f32x4 (local.get $x)))
    (local.set $hi (f64x2.promote_low_f32x4
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))))
    (f64x2.add
      (f64x2.add (local.get $acc) (f64x2.mul (local.get $lo) (local.get $lo)))
      (f64x2.mul (local.get $hi) (local.get $hi))))

  (func $total (param $acc v128) (result f64)
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))

  ;; Σ g² over n values at g
  (func (export "sumSquares") (param $g i32) (param $n i32) (result f64)
    (local $i i32) (local $end i32) (local $ss v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $ss (call $squares (local.get $ss) (v128.load (i32.add (local.get $g) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next)))
    (call $total (local.get $ss)))

  ;; Adam in place over n values; returns Σ g² of the raw gradient.
  ;;   γ = g·clip + l2·θ;  m ← b1·m + c1·γ;  v ← b2·v + (c2·γ)·γ;  θ ← θ·keep − (step·m)/(√v + eps)
  (func (export "adam")
    (param $g i32) (param $p i32) (param $m i32) (param $v i32) (param $n i32)
    (param $clip f32) (param $l2 f32) (param $keep f32) (param $b1 f32) (param $c1 f32)
    (param $b2 f32) (param $c2 f32) (param $step f32) (param $eps f32) (result f64)
    (local $i i32) (local $end i32) (local $ss v128)
    (local $raw v128) (local $th v128) (local $gam v128) (local $mv v128) (local $vv v128)
    (local $k_clip v128) (local $k_l2 v128) (local $k_keep v128) (local $k_b1 v128) (local $k_c1 v128)
    (local $k_b2 v128) (local $k_c2 v128) (local $k_step v128) (local $k_eps v128)
    (local.set $k_clip (f32x4.splat (local.get $clip)))
    (local.set $k_l2 (f32x4.splat (local.get $l2)))
    (local.set $k_keep (f32x4.splat (local.get $keep)))
    (local.set $k_b1 (f32x4.splat (local.get $b1)))
    (local.set $k_c1 (f32x4.splat (local.get $c1)))
    (local.set $k_b2 (f32x4.splat (local.get $b2)))
    (local.set $k_c2 (f32x4.splat (local.get $c2)))
    (local.set $k_step (f32x4.splat (local.get $step)))
    (local.set $k_eps (f32x4.splat (local.get $eps)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $raw (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $th (v128.load (i32.add (local.get $p) (local.get $i))))
        (local.set $ss (call $squares (local.get $ss) (local.get $raw)))
        (local.set $gam (f32x4.add
          (f32x4.mul (local.get $raw) (local.get $k_clip))
          (f32x4.mul (local.get $k_l2) (local.get $th))))
        (local.set $mv (f32x4.add
          (f32x4.mul (local.get $k_b1) (v128.load (i32.add (local.get $m) (local.get $i))))
          (f32x4.mul (local.get $k_c1) (local.get $gam))))
        (local.set $vv (f32x4.add
          (f32x4.mul (local.get $k_b2) (v128.load (i32.add (local.get $v) (local.get $i))))
          (f32x4.mul (f32x4.mul (local.get $k_c2) (local.get $gam)) (local.get $gam))))
        (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $vv))
        (v128.store (i32.add (local.get $p) (local.get $i))
          (f32x4.sub
            (f32x4.mul (local.get $th) (local.get $k_keep))
            (f32x4.div
              (f32x4.mul (local.get $k_step) (local.get $mv))
              (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $k_eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next)))
    (call $total (local.get $ss)))

  ;; SGD in place over n values; returns Σ g² of the raw gradient.  θ ← θ − lr·(g·clip + l2·θ)
  (func (export "sgd")
    (param $g i32) (param $p i32) (param $n i32) (param $clip f32) (param $l2 f32) (param $lr f32)
    (result f64)
    (local $i i32) (local $end i32) (local $ss v128) (local $raw v128) (local $th v128)
    (local $k_clip v128) (local $k_l2 v128) (local $k_lr v128)
    (local.set $k_clip (f32x4.splat (local.get $clip)))
    (local.set $k_l2 (f32x4.splat (local.get $l2)))
    (local.set $k_lr (f32x4.splat (local.get $lr)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $raw (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $th (v128.load (i32.add (local.get $p) (local.get $i))))
        (local.set $ss (call $squares (local.get $ss) (local.get $raw)))
        (v128.store (i32.add (local.get $p) (local.get $i))
          (f32x4.sub (local.get $th)
            (f32x4.mul (local.get $k_lr)
              (f32x4.add
                (f32x4.mul (local.get $raw) (local.get $k_clip))
                (f32x4.mul (local.get $k_l2) (local.get $th))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next)))
    (call $total (local.get $ss)))

  ;; EMA in place over n values: θ̄ ← d·θ̄ + c·θ (c = 1 − d, rounded by the caller)
  (func (export "ema") (param $e i32) (param $p i32) (param $n i32) (param $d f32) (param $c f32)
    (local $i i32) (local $end i32) (local $k_d v128) (local $k_c v128)
    (local.set $k_d (f32x4.splat (local.get $d)))
    (local.set $k_c (f32x4.splat (local.get $c)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $e) (local.get $i))
          (f32x4.add
            (f32x4.mul (local.get $k_d) (v128.load (i32.add (local.get $e) (local.get $i))))
            (f32x4.mul (local.get $k_c) (v128.load (i32.add (local.get $p) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))
)
