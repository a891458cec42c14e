import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/rng.ts";
import {
  EIGHT_GAUSSIANS,
  MOONS_GEOMETRY,
  RINGS_GEOMETRY,
  SCURVE_GEOMETRY,
  TOY2D,
  TOY2D_NAMES,
  checkMixtureSpec,
  mixtureLogDensity,
  sampleMixture,
  sampleToy2D,
  toy2d,
} from "../src/data/toy2d.ts";
import {
  asPoints,
  formatFromPath,
  parsePointsCsv,
  parsePointsJson,
  pointsToCsv,
  pointsToJson,
  readPointsFile,
  writeFileAtomic,
  writePointsFile,
} from "../src/data/points.ts";

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
function rows(x: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < x.length; i += 2) out.push([x[i]!, x[i + 1]!]);
  return out;
}

describe("toy 2-D datasets", () => {
  test("every dataset: n×2 shape, finite, within ±4.5, reproducible by seed, n = 0 allowed", () => {
    for (const name of TOY2D_NAMES) {
      const x = sampleToy2D(name, 3000, new Rng(7));
      assert.equal(x.length, 6000, name);
      let maxAbs = 0;
      for (const v of x) {
        assert.ok(Number.isFinite(v), name);
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
      assert.ok(maxAbs < 4.5, `${name}: max |x| = ${maxAbs}`);
      assert.ok(maxAbs > 1, `${name}: suspiciously small scale ${maxAbs}`);
      assert.ok(maxAbs <= TOY2D[name].extent + 0.5, `${name}: extent ${TOY2D[name].extent} too small for ${maxAbs}`);
      assert.deepEqual(sampleToy2D(name, 3000, new Rng(7)), x, `${name}: same seed must give the same points`);
      assert.notDeepEqual(sampleToy2D(name, 3000, new Rng(8)), x, `${name}: another seed must differ`);
      assert.equal(sampleToy2D(name, 0, new Rng(1)).length, 0);
      assert.throws(() => sampleToy2D(name, -1, new Rng(1)), /non-negative integer/);
      assert.throws(() => sampleToy2D(name, 2.5, new Rng(1)), /non-negative integer/);
    }
  });

  test("registry: unknown names (including Object.prototype keys) list the valid names", () => {
    for (const name of TOY2D_NAMES) assert.equal(toy2d(name).name, name);
    for (const bad of ["spiral", "toString", "__proto__", ""]) {
      assert.throws(
        () => toy2d(bad),
        (e: Error) => {
          assert.match(e.message, new RegExp(`unknown 2-D dataset "${bad}"`));
          for (const n of TOY2D_NAMES) assert.ok(e.message.includes(n), `message should list ${n}`);
          return true;
        },
      );
    }
  });

  test("8 gaussians: 8 equal clusters at radius 2√2 with std 0.3; spec in the shared JSON format", () => {
    const spec = EIGHT_GAUSSIANS;
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(spec))), ["weights", "means", "stds"]);
    assert.equal(checkMixtureSpec(spec), 2);
    assert.equal(spec.weights.length, 8);
    for (const m of spec.means) assert.ok(Math.abs(Math.hypot(m[0]!, m[1]!) - 2 * Math.SQRT2) < 1e-9);
    for (const s of spec.stds) assert.deepEqual(s, [0.3, 0.3]);
    const n = 16000;
    const pts = rows(toy2d("8gaussians").sample(n, new Rng(3)));
    const groups: [number, number][][] = spec.means.map(() => []);
    for (const p of pts) {
      let best = 0,
        bd = Infinity;
      spec.means.forEach((m, j) => {
        const d = Math.hypot(p[0] - m[0]!, p[1] - m[1]!);
        if (d < bd) {
          bd = d;
          best = j;
        }
      });
      groups[best]!.push(p);
    }
    groups.forEach((g, j) => {
      assert.ok(Math.abs(g.length / n - 1 / 8) < 0.015, `cluster ${j} has fraction ${g.length / n}`);
      const cx = mean(g.map((p) => p[0])),
        cy = mean(g.map((p) => p[1]));
      assert.ok(
        Math.hypot(cx - spec.means[j]![0]!, cy - spec.means[j]![1]!) < 0.03,
        `cluster ${j} center (${cx}, ${cy})`,
      );
      const sx = Math.sqrt(mean(g.map((p) => (p[0] - cx) ** 2)));
      assert.ok(Math.abs(sx - 0.3) < 0.02, `cluster ${j} std ${sx}`);
    });
  });

  test("mixtureLogDensity: integrates to 1 and matches the single-Gaussian value at a mode", () => {
    const h = 0.04;
    let total = 0;
    for (let x = -5; x < 5; x += h)
      for (let y = -5; y < 5; y += h)
        total += Math.exp(mixtureLogDensity(EIGHT_GAUSSIANS, [x + h / 2, y + h / 2])) * h * h;
    assert.ok(Math.abs(total - 1) < 2e-3, `integral ${total}`);
    const m = EIGHT_GAUSSIANS.means[0]!;
    const expected = Math.log(1 / 8) - Math.log(2 * Math.PI * 0.09);
    assert.ok(Math.abs(mixtureLogDensity(EIGHT_GAUSSIANS, m) - expected) < 1e-6);
    assert.ok(mixtureLogDensity(EIGHT_GAUSSIANS, [0, 0]) < expected - 20);
  });

  test("sampleMixture and checkMixtureSpec validate their input", () => {
    assert.throws(() => checkMixtureSpec({ weights: [0.5, 0.4], means: [[0], [1]], stds: [[1], [1]] }), /sum to 0.9/);
    assert.throws(() => checkMixtureSpec({ weights: [1], means: [[0, 0]], stds: [[0, 1]] }), /stds\[0\]\[0\]/);
    assert.throws(
      () => checkMixtureSpec({ weights: [0.5, 0.5], means: [[0]], stds: [[1], [1]] }),
      /one entry per component/,
    );
    const x = sampleMixture({ weights: [0.25, 0.75], means: [[-10], [10]], stds: [[1], [1]] }, 4000, new Rng(2));
    const right = Array.from(x).filter((v) => v > 0).length / 4000;
    assert.ok(Math.abs(right - 0.75) < 0.03, `fraction ${right}`);
  });

  test("moons: points lie on two half-circles of radius 2 (noise 0.1)", () => {
    // documented geometry (literal, so a change to the implementation's constants is caught)
    const radius = 2,
      cu = [-1, -0.5],
      cl = [1, 0.5],
      noise = 0.1;
    assert.deepEqual(MOONS_GEOMETRY, { radius, upperCenter: cu, lowerCenter: cl, noise });
    const pts = rows(toy2d("moons").sample(4000, new Rng(4)));
    const res: number[] = [];
    pts.forEach((p, i) => {
      const c = i % 2 === 0 ? cu : cl;
      res.push(Math.hypot(p[0] - c[0]!, p[1] - c[1]!) - radius);
      const side = i % 2 === 0 ? p[1] - c[1]! : c[1]! - p[1];
      assert.ok(side > -4 * noise, `point ${i} on the wrong half: ${p}`);
    });
    const mae = mean(res.map(Math.abs));
    // |N(0, σ²)| has mean σ√(2/π) ≈ 0.08 for radial residuals
    assert.ok(Math.abs(mae - noise * Math.sqrt(2 / Math.PI)) < 0.015, `mean |residual| ${mae}`);
    assert.ok(Math.abs(mean(res)) < 0.02);
  });

  test("rings: radii 1, 2, 3 with mass ∝ radius", () => {
    const n = 12000;
    const r = rows(toy2d("rings").sample(n, new Rng(5))).map((p) => Math.hypot(p[0], p[1]));
    const radii = [1, 2, 3];
    assert.deepEqual(RINGS_GEOMETRY, { radii, noise: 0.08 });
    radii.forEach((R) => {
      const near = r.filter((v) => Math.abs(v - R) < 0.45);
      assert.ok(Math.abs(near.length / n - R / 6) < 0.02, `ring ${R}: fraction ${near.length / n}`);
      assert.ok(Math.abs(mean(near) - R) < 0.02, `ring ${R}: mean radius ${mean(near)}`);
      const sd = Math.sqrt(mean(near.map((v) => (v - R) ** 2)));
      assert.ok(Math.abs(sd - 0.08) < 0.015, `ring ${R}: radial std ${sd}`);
    });
    assert.equal(
      r.filter((v) => v < 0.6 || (v > 1.4 && v < 1.6) || (v > 2.4 && v < 2.6) || v > 3.45).length < n * 0.003,
      true,
    );
  });

  test("checkerboard: uniform on the 8 dark cells of [−3, 3]²", () => {
    const n = 16000;
    const pts = rows(toy2d("checkerboard").sample(n, new Rng(6)));
    const counts = new Map<string, number>();
    for (const [x, y] of pts) {
      assert.ok(x >= -3 && x <= 3 && y >= -3 && y <= 3);
      const i = Math.floor((x + 3) / 1.5),
        j = Math.floor((y + 3) / 1.5);
      assert.equal((i + j) % 2, 0, `point (${x}, ${y}) in a light cell`);
      counts.set(`${i},${j}`, (counts.get(`${i},${j}`) ?? 0) + 1);
    }
    assert.equal(counts.size, 8);
    for (const [k, c] of counts) assert.ok(Math.abs(c / n - 1 / 8) < 0.012, `cell ${k}: ${c / n}`);
    const fx = mean(pts.map(([x]) => ((x + 3) / 1.5) % 1));
    assert.ok(Math.abs(fx - 0.5) < 0.01, `within-cell mean ${fx}`);
  });

  test("swiss roll: points lie near the spiral r = θ/5", () => {
    const pts = rows(toy2d("swissroll").sample(600, new Rng(9)));
    const curve: [number, number][] = [];
    for (let k = 0; k <= 3000; k++) {
      const t = 1.5 * Math.PI * (1 + (2 * k) / 3000);
      curve.push([(t * Math.cos(t)) / 5, (t * Math.sin(t)) / 5]);
    }
    const d = pts.map((p) => Math.min(...curve.map((c) => Math.hypot(p[0] - c[0], p[1] - c[1]))));
    const md = mean(d);
    // 2-D isotropic noise of std 0.1: distance to the curve ≈ |normal component|, mean 0.1·√(2/π) ≈ 0.08
    assert.ok(Math.abs(md - 0.08) < 0.008, `mean distance to spiral ${md}`);
    assert.ok(d.filter((v) => v > 0.3).length <= 3, "points beyond 3σ of the spiral");
    const r = pts.map((p) => Math.hypot(p[0], p[1]));
    assert.ok(Math.min(...r) > 0.5 && Math.max(...r) < 3.3);
  });

  test("s-curve: two 3/4-circles of radius 1.5 centered (0, ±1.5), half the mass each", () => {
    const radius = 1.5,
      centers = [
        [0, 1.5],
        [0, -1.5],
      ];
    assert.deepEqual(SCURVE_GEOMETRY, { radius, centers, noise: 0.1 });
    const pts = rows(toy2d("scurve").sample(4000, new Rng(10)));
    const res = pts.map((p) =>
      Math.min(...centers.map((c) => Math.abs(Math.hypot(p[0] - c[0]!, p[1] - c[1]!) - radius))),
    );
    assert.ok(mean(res) < 0.1, `mean residual ${mean(res)}`);
    const upper = pts.filter((p) => p[1] > 0).length / pts.length;
    assert.ok(Math.abs(upper - 0.5) < 0.03);
    // the missing quarters: lower-right of the upper circle, upper-left of the lower circle
    const gaps = pts.filter(
      (p) => (p[0] > 0.6 && p[1] > 0.25 && p[1] < 1.2) || (p[0] < -0.6 && p[1] < -0.25 && p[1] > -1.2),
    ).length;
    assert.ok(gaps < 10, `${gaps} points inside the S's open quarters`);
    const xs = pts.map((p) => p[0]),
      ys = pts.map((p) => p[1]);
    assert.ok(Math.max(...xs) < 1.9 && Math.min(...xs) > -1.9 && Math.max(...ys) < 3.4 && Math.min(...ys) > -3.4);
  });
});

describe("points from CSV and JSON", () => {
  const tricky = Float64Array.from([0.1, -2, 1 / 3, 1e-300, -12345678.901234, 5e21, 0, 7]);

  test("CSV and JSON round trips are exact", () => {
    const p = asPoints(tricky, 2);
    for (const text of [pointsToCsv(p), pointsToCsv(p, { header: false }), pointsToCsv(p, { header: ["a", "b"] })]) {
      const q = parsePointsCsv(text);
      assert.equal(q.n, 4);
      assert.equal(q.dim, 2);
      assert.deepEqual(q.data, tricky);
    }
    const q = parsePointsJson(pointsToJson(p));
    assert.deepEqual(q, { n: 4, dim: 2, data: tricky });
    const p3 = asPoints(tricky.slice(0, 6), 3);
    assert.equal(pointsToCsv(p3).split("\n")[0], "x0,x1,x2");
    assert.deepEqual(parsePointsCsv(pointsToCsv(p3)).data, tricky.slice(0, 6));
  });

  test("CSV variants: header, whitespace/tab separators, CRLF, BOM, comments, blank lines", () => {
    const expect = Float64Array.from([1, 2, 3.5, -4]);
    for (const text of [
      "x,y\n1,2\n3.5,-4\n",
      "1 2\n3.5   -4",
      "\uFEFFx\ty\r\n1\t2\r\n\r\n3.5\t-4\r\n",
      "# comment\n\n x , y \n 1 , 2 \n# mid\n3.5,-4e0\n\n",
      "+1,2.\n3.5,-.4e1",
    ]) {
      const p = parsePointsCsv(text);
      assert.deepEqual(p, { n: 2, dim: 2, data: expect }, JSON.stringify(text));
    }
    assert.deepEqual(parsePointsCsv("5\n6\n").data, Float64Array.from([5, 6]));
  });

  test("CSV errors name the source, the line and the problem", () => {
    const cases: [string, RegExp][] = [
      [
        "x,y\n1,2\n3,4,5\n",
        /pts\.csv: line 3 has 3 values but line 2 \(the first data row\) has 2; every row needs the same number of columns/,
      ],
      ["1,2\n3,NaN\n", /pts\.csv: line 2, column 2: NaN/],
      ["1,2\n3,abc\n", /pts\.csv: line 2, column 2: "abc" is not a number/],
      ["1,2\n3,inf\n", /line 2, column 2: an infinite value/],
      ["1,2,\n", /line 1, column 3: an empty field/],
      ["1,2\n0x10,3\n", /line 2, column 1: "0x10" is not a number/],
      ["1,2\n1e999,3\n", /line 2, column 1: "1e999" overflows/],
      ["", /pts\.csv: no data rows; expected one point per line/],
      ["x,y\n\n", /no data rows after the header/],
      ["x,1\n2,3\n", /line 1, column 1: "x" is not a number/],
    ];
    for (const [text, re] of cases) assert.throws(() => parsePointsCsv(text, "pts.csv"), re, JSON.stringify(text));
  });

  test("JSON: plain array and {points} object; errors name the index and the fix", () => {
    assert.deepEqual(parsePointsJson("[[1,2],[3,4]]"), { n: 2, dim: 2, data: Float64Array.from([1, 2, 3, 4]) });
    assert.deepEqual(parsePointsJson('{"name":"x","points":[[1],[2],[3]]}'), {
      n: 3,
      dim: 1,
      data: Float64Array.from([1, 2, 3]),
    });
    const cases: [string, RegExp][] = [
      ["[[1,2],[3", /p\.json: invalid JSON \(.*\); expected \[\[x, y\], …\]/],
      ["[[1,2],[3,4,5]]", /p\.json: \[1\] has 3 values but \[0\] has 2/],
      ['{"points":[[1,2],[3,null]]}', /p\.json: points\[1\]\[1\] is null \(JSON writes NaN and Infinity as null\)/],
      ['[[1,"2"]]', /\[0\]\[1\] is the string "2"; write numbers without quotes/],
      ["[1,2,3]", /\[0\] is number, not an array; wrap each point in its own array/],
      ["[]", /is empty; expected at least one point/],
      ['{"data":[[1]]}', /has no "points" key \(keys: data\)/],
      ['{"points":5}', /points is number, not an array/],
      ['{"n":3,"points":[[1,2]]}', /"n" is 3 but "points" has 1 rows/],
      ["[[]]", /\[0\] is an empty row/],
    ];
    for (const [text, re] of cases) assert.throws(() => parsePointsJson(text, "p.json"), re, text);
  });

  test("writers refuse non-finite values and bad headers", () => {
    assert.throws(() => pointsToCsv(asPoints(Float64Array.from([1, NaN]), 2)), /row 0, column 1 is NaN/);
    assert.throws(() => pointsToJson({ n: 2, dim: 2, data: new Float64Array(3) }), /n·dim = 2·2/);
    assert.throws(() => pointsToCsv(asPoints(new Float64Array(2), 2), { header: ["a b", "c"] }), /header name/);
    assert.throws(() => asPoints(new Float64Array(5), 2), /not a whole number of rows/);
  });

  test("files: atomic writes leave no temporary files; reads name the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scoregen-points-"));
    try {
      const p = asPoints(tricky, 2);
      await writePointsFile(join(dir, "a.csv"), p);
      await writePointsFile(join(dir, "a.json"), p);
      assert.deepEqual((await readPointsFile(join(dir, "a.csv"))).data, tricky);
      assert.deepEqual((await readPointsFile(join(dir, "a.json"))).data, tricky);
      await writeFileAtomic(join(dir, "a.csv"), "9,9\n"); // overwrite
      assert.equal(await readFile(join(dir, "a.csv"), "utf8"), "9,9\n");
      assert.deepEqual((await readdir(dir)).sort(), ["a.csv", "a.json"]);
      await writeFile(join(dir, "bad.csv"), "1,2\n3\n");
      await assert.rejects(
        readPointsFile(join(dir, "bad.csv")),
        new RegExp(`${join(dir, "bad.csv").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: line 2 has 1 values`),
      );
      await assert.rejects(readPointsFile(join(dir, "missing.csv")), /missing\.csv: no such file/);
      await assert.rejects(writeFileAtomic(join(dir, "nope", "x.csv"), "1"), /nope.*does the folder .*nope exist/);
      assert.deepEqual((await readdir(dir)).sort(), ["a.csv", "a.json", "bad.csv"]);
      assert.throws(() => formatFromPath("pts.npy"), /extension "\.npy"; use \.csv, \.tsv, \.txt or \.json/);
      assert.equal(formatFromPath("A.JSON"), "json");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test("moons log-density (quadrature over the arc angle) integrates to 1 and peaks on the arcs", async () => {
  const { moonsLogDensity, MOONS_GEOMETRY } = await import("../src/data/toy2d.ts");
  const h = 0.02;
  let total = 0;
  for (let x = -3.6; x <= 3.6; x += h)
    for (let y = -2.2; y <= 2.2; y += h) total += Math.exp(moonsLogDensity(x, y, 400)) * h * h;
  assert.ok(Math.abs(total - 1) < 2e-3, `integral ${total}`);
  const [cx, cy] = MOONS_GEOMETRY.upperCenter;
  const onArc = moonsLogDensity(cx, cy + MOONS_GEOMETRY.radius),
    off = moonsLogDensity(cx, cy + MOONS_GEOMETRY.radius + 0.3);
  // on the arc: ≈ log(½·(1/π r)·1/(√(2π)σ)) for a locally straight arc; 0.3 outside (3σ) the Gaussian
  // factor drops by 4.5 and the outward curvature (density ∝ 1/ρ off a circle) by up to ln(2.3/2) ≈ 0.14 more
  const want = Math.log(0.5 / (Math.PI * MOONS_GEOMETRY.radius) / (Math.sqrt(2 * Math.PI) * MOONS_GEOMETRY.noise));
  assert.ok(Math.abs(onArc - want) < 0.02, `on-arc log density ${onArc} vs ${want}`);
  assert.ok(onArc - off > 4.5 && onArc - off < 4.5 + Math.log(2.3 / 2), `3σ drop ${onArc - off}`);
});

test("pointsToJson writes a plain array of points", async () => {
  const { pointsToJson } = await import("../src/data/points.ts");
  assert.deepEqual(JSON.parse(pointsToJson({ n: 2, dim: 2, data: Float64Array.of(1, -2.5, 3, 4) })), [
    [1, -2.5],
    [3, 4],
  ]);
});
