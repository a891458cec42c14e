;; Standard normals of Rng.normals (src/rng.ts) in WebAssembly: Philox4x32-10 with exact 64-bit
;; integer products (JavaScript emulates them with doubles), then the Box–Muller pair from the same
;; IEEE double operations, in the same order, as src/exact-math.ts's logExact and sinCosTurnsInto.
;; WebAssembly's f64 add, sub, mul, div and sqrt are correctly rounded and never fused, so every
;; value has the same bits as the JavaScript path; test/rng.test.ts checks that. Assembled into
;; rng-kernels.wasm.ts by `npm run build:wasm`.
;;
;; Memory: the constants, written by the host at instantiation from the very doubles exact-math.ts
;; uses (ATANH_C[0..13] at byte 0, SIN_C[0..11] at 128, COS_C[0..11] at 256, then LN2_HI, LN2_LO,
;; TWO_PI_HI, TWO_PI_LO and sqrt(2) at 384, 392, 400, 408, 416), Philox words of four blocks at 448..511
;; (scratch), and the output pairs from byte 512 on.
(module
  (import "env" "memory" (memory 1))

  ;; uniform in (0, 1) from two words: ((a >>> 5)·2^26 + (b >>> 6) + 0.5)·2^-53, left to right
  (func $uniform (param $a i32) (param $b i32) (result f64)
    (f64.mul
      (f64.add
        (f64.add
          (f64.mul (f64.convert_i32_u (i32.shr_u (local.get $a) (i32.const 5))) (f64.const 67108864))
          (f64.convert_i32_u (i32.shr_u (local.get $b) (i32.const 6))))
        (f64.const 0.5))
      (f64.const 0x1p-53)))

  ;; logExact for x in (0, 1): x = m·2^e with m in [√½, √2), ln m by the atanh series
  (func $log (param $x f64) (result f64)
    (local $bits i64) (local $e f64) (local $m f64) (local $f f64) (local $s f64) (local $s2 f64)
    (local $p f64) (local $k i32) (local $hf f64) (local $r f64)
    (local.set $bits (i64.reinterpret_f64 (local.get $x)))
    (local.set $e (f64.convert_i64_s
      (i64.sub (i64.and (i64.shr_u (local.get $bits) (i64.const 52)) (i64.const 0x7ff)) (i64.const 1023))))
    (local.set $m (f64.reinterpret_i64
      (i64.or (i64.and (local.get $bits) (i64.const 0x800fffffffffffff)) (i64.const 0x3ff0000000000000))))
    (if (f64.ge (local.get $m) (f64.load offset=416 (i32.const 0))) ;; Math.SQRT2
      (then
        (local.set $m (f64.div (local.get $m) (f64.const 2)))
        (local.set $e (f64.add (local.get $e) (f64.const 1)))))
    (local.set $f (f64.sub (local.get $m) (f64.const 1)))
    (local.set $s (f64.div (local.get $f) (f64.add (local.get $m) (f64.const 1))))
    (local.set $s2 (f64.mul (local.get $s) (local.get $s)))
    (local.set $p (f64.load offset=104 (i32.const 0))) ;; ATANH_C[13]
    (local.set $k (i32.const 96)) ;; byte offset of ATANH_C[12]
    (loop $terms
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $s2)) (f64.load (local.get $k))))
      (local.set $k (i32.sub (local.get $k) (i32.const 8)))
      (br_if $terms (i32.ge_s (local.get $k) (i32.const 8))))
    (local.set $hf (f64.mul (f64.mul (f64.const 0.5) (local.get $f)) (local.get $f)))
    (local.set $r (f64.mul (f64.mul (local.get $s2) (local.get $p)) (f64.const 2)))
    (f64.add
      (f64.mul (local.get $e) (f64.load offset=384 (i32.const 0))) ;; LN2_HI
      (f64.add
        (f64.sub (local.get $f)
          (f64.sub (local.get $hf) (f64.mul (local.get $s) (f64.add (local.get $hf) (local.get $r)))))
        (f64.mul (local.get $e) (f64.load offset=392 (i32.const 0)))))) ;; LN2_LO

  ;; the pair r·cos 2πu, r·sin 2πu (sinCosTurnsInto for u in (0, 1)) stored at $at, $at + 8
  (func $pair (param $r f64) (param $u f64) (param $at i32)
    (local $k i32) (local $v f64) (local $t f64) (local $nt2 f64) (local $ps f64) (local $pc f64)
    (local $j i32) (local $s f64) (local $sin f64) (local $cos f64)
    ;; Math.round(4u) = floor(4u + 0.5) here: 4u is a multiple of 2^-52 in (0, 4), so the sum is exact
    (local.set $k (i32.trunc_f64_u (f64.floor (f64.add (f64.mul (f64.const 4) (local.get $u)) (f64.const 0.5)))))
    (local.set $v (f64.sub (local.get $u) (f64.div (f64.convert_i32_u (local.get $k)) (f64.const 4))))
    (local.set $t (f64.add
      (f64.mul (local.get $v) (f64.load offset=400 (i32.const 0)))   ;; TWO_PI_HI
      (f64.mul (local.get $v) (f64.load offset=408 (i32.const 0))))) ;; TWO_PI_LO
    (local.set $nt2 (f64.neg (f64.mul (local.get $t) (local.get $t))))
    (local.set $ps (f64.load offset=216 (i32.const 0))) ;; SIN_C[11]
    (local.set $pc (f64.load offset=344 (i32.const 0))) ;; COS_C[11]
    (local.set $j (i32.const 80)) ;; index 10, in bytes
    (loop $terms
      (local.set $ps (f64.add (f64.mul (local.get $ps) (local.get $nt2)) (f64.load offset=128 (local.get $j))))
      (local.set $pc (f64.add (f64.mul (local.get $pc) (local.get $nt2)) (f64.load offset=256 (local.get $j))))
      (local.set $j (i32.sub (local.get $j) (i32.const 8)))
      (br_if $terms (i32.ge_s (local.get $j) (i32.const 0))))
    (local.set $s (f64.mul (local.get $t) (local.get $ps)))
    (block $done
      (block $q3
        (block $q2
          (block $q1
            (block $q0
              (br_table $q0 $q1 $q2 $q3 (i32.and (local.get $k) (i32.const 3))))
            (local.set $sin (local.get $s)) (local.set $cos (local.get $pc)) (br $done))
          (local.set $sin (local.get $pc)) (local.set $cos (f64.neg (local.get $s))) (br $done))
        (local.set $sin (f64.neg (local.get $s))) (local.set $cos (f64.neg (local.get $pc))) (br $done))
      (local.set $sin (f64.neg (local.get $pc))) (local.set $cos (local.get $s)))
    (f64.store (local.get $at) (f64.mul (local.get $r) (local.get $cos)))
    (f64.store offset=8 (local.get $at) (f64.mul (local.get $r) (local.get $sin))))

  ;; Philox4x32-10 of counter (counter mod 2^32, counter >> 32, 0, 0) under key (k0, k1); the four
  ;; words go to bytes $at .. $at + 15
  (func $philox (param $k0 i32) (param $k1 i32) (param $counter i64) (param $at i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $round i32) (local $p0 i64) (local $p1 i64)
    (local.set $c0 (i32.wrap_i64 (local.get $counter)))
    (local.set $c1 (i32.wrap_i64 (i64.shr_u (local.get $counter) (i64.const 32))))
    (loop $rounds
      (local.set $p0 (i64.mul (i64.const 0xd2511f53) (i64.extend_i32_u (local.get $c0))))
      (local.set $p1 (i64.mul (i64.const 0xcd9e8d57) (i64.extend_i32_u (local.get $c2))))
      (local.set $c0 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $c1))
        (local.get $k0)))
      (local.set $c1 (i32.wrap_i64 (local.get $p1)))
      (local.set $c2 (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p0) (i64.const 32))) (local.get $c3))
        (local.get $k1)))
      (local.set $c3 (i32.wrap_i64 (local.get $p0)))
      (local.set $k0 (i32.add (local.get $k0) (i32.const 0x9e3779b9)))
      (local.set $k1 (i32.add (local.get $k1) (i32.const 0xbb67ae85)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 10))))
    (i32.store (local.get $at) (local.get $c0))
    (i32.store offset=4 (local.get $at) (local.get $c1))
    (i32.store offset=8 (local.get $at) (local.get $c2))
    (i32.store offset=12 (local.get $at) (local.get $c3)))

  ;; Philox4x32-10 of the four blocks $counter … $counter + 3 at once (lane b = block b; the 32×32 → 64-bit
  ;; products by extmul), their words then stored per block as $philox stores them: block b at 448 + 16b
  (func $philox4 (param $k0 i32) (param $k1 i32) (param $counter i64)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $key0 v128) (local $key1 v128)
    (local $hi0 v128) (local $lo0 v128) (local $hi1 v128) (local $lo1 v128) (local $p v128)
    (local $round i32) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $n1 i64) (local $n2 i64) (local $n3 i64)
    (local.set $n1 (i64.add (local.get $counter) (i64.const 1)))
    (local.set $n2 (i64.add (local.get $counter) (i64.const 2)))
    (local.set $n3 (i64.add (local.get $counter) (i64.const 3)))
    (local.set $c0 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (i32.wrap_i64 (local.get $counter)))
      (i32.wrap_i64 (local.get $n1))) (i32.wrap_i64 (local.get $n2))) (i32.wrap_i64 (local.get $n3))))
    (local.set $c1 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (i32.wrap_i64 (i64.shr_u (local.get $counter) (i64.const 32))))
      (i32.wrap_i64 (i64.shr_u (local.get $n1) (i64.const 32))))
      (i32.wrap_i64 (i64.shr_u (local.get $n2) (i64.const 32))))
      (i32.wrap_i64 (i64.shr_u (local.get $n3) (i64.const 32)))))
    (local.set $key0 (i32x4.splat (local.get $k0)))
    (local.set $key1 (i32x4.splat (local.get $k1)))
    (loop $rounds
      ;; high words of the four 64-bit products: odd 32-bit lanes of the two extmul halves
      (local.set $hi0 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
        (i64x2.extmul_low_i32x4_u (local.get $c0) (i32x4.splat (i32.const 0xd2511f53)))
        (i64x2.extmul_high_i32x4_u (local.get $c0) (i32x4.splat (i32.const 0xd2511f53)))))
      (local.set $lo0 (i32x4.mul (local.get $c0) (i32x4.splat (i32.const 0xd2511f53))))
      (local.set $hi1 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
        (i64x2.extmul_low_i32x4_u (local.get $c2) (i32x4.splat (i32.const 0xcd9e8d57)))
        (i64x2.extmul_high_i32x4_u (local.get $c2) (i32x4.splat (i32.const 0xcd9e8d57)))))
      (local.set $lo1 (i32x4.mul (local.get $c2) (i32x4.splat (i32.const 0xcd9e8d57))))
      (local.set $c0 (v128.xor (v128.xor (local.get $hi1) (local.get $c1)) (local.get $key0)))
      (local.set $c1 (local.get $lo1))
      (local.set $c2 (v128.xor (v128.xor (local.get $hi0) (local.get $c3)) (local.get $key1)))
      (local.set $c3 (local.get $lo0))
      (local.set $key0 (i32x4.add (local.get $key0) (i32x4.splat (i32.const 0x9e3779b9))))
      (local.set $key1 (i32x4.add (local.get $key1) (i32x4.splat (i32.const 0xbb67ae85))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 10))))
    ;; 4×4 transpose: columns (c0, c1, c2, c3) to the four blocks' rows
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c0) (local.get $c1)))
    (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c2) (local.get $c3)))
    (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c0) (local.get $c1)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c2) (local.get $c3)))
    (v128.store (i32.const 448) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
    (v128.store (i32.const 464) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
    (v128.store (i32.const 480) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
    (v128.store (i32.const 496) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3))))

  ;; one pair from the block at counter $counter, through the scalar functions above
  (func $onePair (param $k0 i32) (param $k1 i32) (param $counter i64) (param $at i32)
    (call $philox (local.get $k0) (local.get $k1) (local.get $counter) (i32.const 448))
    (call $pair
      (f64.sqrt (f64.mul (f64.const -2)
        (call $log (call $uniform (i32.load (i32.const 448)) (i32.load (i32.const 452))))))
      (call $uniform (i32.load (i32.const 456)) (i32.load (i32.const 460)))
      (local.get $at)))

  ;; ---- two lanes at a time (f64x2): lane by lane the same IEEE operations as the scalar functions

  ;; [uniform of block A's words at $a + $w, block B's at $b + $w]
  (func $uniform2 (param $a i32) (param $b i32) (result v128)
    (f64x2.replace_lane 1
      (f64x2.splat (call $uniform (i32.load (local.get $a)) (i32.load offset=4 (local.get $a))))
      (call $uniform (i32.load (local.get $b)) (i32.load offset=4 (local.get $b)))))

  (func $log2 (param $x v128) (result v128)
    (local $e v128) (local $m v128) (local $big v128) (local $f v128) (local $s v128) (local $s2 v128)
    (local $p v128) (local $k i32) (local $hf v128) (local $r v128)
    ;; exponent field − 1023 per lane, as doubles (the low words of the two i64 lanes)
    (local.set $e (f64x2.convert_low_i32x4_s
      (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11
        (i64x2.sub (v128.and (i64x2.shr_u (local.get $x) (i32.const 52)) (i64x2.splat (i64.const 0x7ff)))
          (i64x2.splat (i64.const 1023)))
        (local.get $x))))
    (local.set $m (v128.or (v128.and (local.get $x) (i64x2.splat (i64.const 0x800fffffffffffff)))
      (i64x2.splat (i64.const 0x3ff0000000000000))))
    (local.set $big (f64x2.ge (local.get $m) (f64x2.splat (f64.load (i32.const 416)))))
    (local.set $m (v128.bitselect (f64x2.div (local.get $m) (f64x2.splat (f64.const 2))) (local.get $m) (local.get $big)))
    (local.set $e (v128.bitselect (f64x2.add (local.get $e) (f64x2.splat (f64.const 1))) (local.get $e) (local.get $big)))
    (local.set $f (f64x2.sub (local.get $m) (f64x2.splat (f64.const 1))))
    (local.set $s (f64x2.div (local.get $f) (f64x2.add (local.get $m) (f64x2.splat (f64.const 1)))))
    (local.set $s2 (f64x2.mul (local.get $s) (local.get $s)))
    (local.set $p (f64x2.splat (f64.load (i32.const 104))))
    (local.set $k (i32.const 96))
    (loop $terms
      (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $s2)) (f64x2.splat (f64.load (local.get $k)))))
      (local.set $k (i32.sub (local.get $k) (i32.const 8)))
      (br_if $terms (i32.ge_s (local.get $k) (i32.const 8))))
    (local.set $hf (f64x2.mul (f64x2.mul (f64x2.splat (f64.const 0.5)) (local.get $f)) (local.get $f)))
    (local.set $r (f64x2.mul (f64x2.mul (local.get $s2) (local.get $p)) (f64x2.splat (f64.const 2))))
    (f64x2.add
      (f64x2.mul (local.get $e) (f64x2.splat (f64.load (i32.const 384))))
      (f64x2.add
        (f64x2.sub (local.get $f)
          (f64x2.sub (local.get $hf) (f64x2.mul (local.get $s) (f64x2.add (local.get $hf) (local.get $r)))))
        (f64x2.mul (local.get $e) (f64x2.splat (f64.load (i32.const 392)))))))

  ;; two pairs: lane i's (r·cos 2πu, r·sin 2πu) at $at + 16i
  (func $pair2 (param $r v128) (param $u v128) (param $at i32)
    (local $k v128) (local $v v128) (local $t v128) (local $nt2 v128) (local $ps v128) (local $pc v128)
    (local $j i32) (local $s v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $sin v128)
    (local $cos v128) (local $rc v128) (local $rs v128)
    (local.set $k (f64x2.floor (f64x2.add (f64x2.mul (f64x2.splat (f64.const 4)) (local.get $u))
      (f64x2.splat (f64.const 0.5)))))
    (local.set $v (f64x2.sub (local.get $u) (f64x2.div (local.get $k) (f64x2.splat (f64.const 4)))))
    (local.set $t (f64x2.add
      (f64x2.mul (local.get $v) (f64x2.splat (f64.load (i32.const 400))))
      (f64x2.mul (local.get $v) (f64x2.splat (f64.load (i32.const 408))))))
    (local.set $nt2 (f64x2.neg (f64x2.mul (local.get $t) (local.get $t))))
    (local.set $ps (f64x2.splat (f64.load (i32.const 216))))
    (local.set $pc (f64x2.splat (f64.load (i32.const 344))))
    (local.set $j (i32.const 80))
    (loop $terms
      (local.set $ps (f64x2.add (f64x2.mul (local.get $ps) (local.get $nt2)) (f64x2.splat (f64.load offset=128 (local.get $j)))))
      (local.set $pc (f64x2.add (f64x2.mul (local.get $pc) (local.get $nt2)) (f64x2.splat (f64.load offset=256 (local.get $j)))))
      (local.set $j (i32.sub (local.get $j) (i32.const 8)))
      (br_if $terms (i32.ge_s (local.get $j) (i32.const 0))))
    (local.set $s (f64x2.mul (local.get $t) (local.get $ps)))
    ;; quadrant k mod 4 (k is 0..4; 4 is quadrant 0)
    (local.set $q1 (f64x2.eq (local.get $k) (f64x2.splat (f64.const 1))))
    (local.set $q2 (f64x2.eq (local.get $k) (f64x2.splat (f64.const 2))))
    (local.set $q0 (v128.or (f64x2.eq (local.get $k) (f64x2.splat (f64.const 0))) (f64x2.eq (local.get $k) (f64x2.splat (f64.const 4)))))
    ;; q0: (s, pc)  q1: (pc, −s)  q2: (−s, −pc)  q3: (−pc, s)
    (local.set $sin (v128.bitselect (local.get $s)
      (v128.bitselect (local.get $pc) (v128.bitselect (f64x2.neg (local.get $s)) (f64x2.neg (local.get $pc)) (local.get $q2))
        (local.get $q1))
      (local.get $q0)))
    (local.set $cos (v128.bitselect (local.get $pc)
      (v128.bitselect (f64x2.neg (local.get $s)) (v128.bitselect (f64x2.neg (local.get $pc)) (local.get $s) (local.get $q2))
        (local.get $q1))
      (local.get $q0)))
    (local.set $rc (f64x2.mul (local.get $r) (local.get $cos)))
    (local.set $rs (f64x2.mul (local.get $r) (local.get $sin)))
    (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $rc) (local.get $rs)))
    (v128.store offset=16 (local.get $at)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $rc) (local.get $rs))))

  ;; $pairs Box–Muller pairs from the Philox blocks at counters $counter, $counter + 1, … under key
  ;; ($k0, $k1), one block a pair, written as doubles from byte 512: four pairs at a time (two f64x2
  ;; streams), the rest one by one.
  (func (export "normals") (param $k0 i32) (param $k1 i32) (param $counter i64) (param $pairs i32)
    (local $i i32) (local $at i32)
    (local.set $at (i32.const 512))
    (block $quads
      (loop $quad
        (br_if $quads (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $pairs)))
        (call $philox4 (local.get $k0) (local.get $k1) (local.get $counter)) ;; words at 448, 464, 480, 496
        (call $pair2
          (f64x2.sqrt (f64x2.mul (f64x2.splat (f64.const -2)) (call $log2 (call $uniform2 (i32.const 448) (i32.const 464)))))
          (call $uniform2 (i32.const 456) (i32.const 472))
          (local.get $at))
        (call $pair2
          (f64x2.sqrt (f64x2.mul (f64x2.splat (f64.const -2)) (call $log2 (call $uniform2 (i32.const 480) (i32.const 496)))))
          (call $uniform2 (i32.const 488) (i32.const 504))
          (i32.add (local.get $at) (i32.const 32)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (local.set $counter (i64.add (local.get $counter) (i64.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quad)))
    (block $end
      (loop $one
        (br_if $end (i32.ge_u (local.get $i) (local.get $pairs)))
        (call $onePair (local.get $k0) (local.get $k1) (local.get $counter) (local.get $at))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (local.set $counter (i64.add (local.get $counter) (i64.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))
)
