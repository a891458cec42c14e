/**
 * bench --lockstep's turn-taking against a fake PyTorch server (a Node script speaking the protocol
 * of bench/torch_twins.py --serve), so the protocol is checked without PyTorch.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { type TorchServerSpec, runLockstep, runLockstepEnd2End, withTorchServer } from "../bench/lockstep.ts";
import type { ScoreModel } from "../src/score.ts";

// A step takes "10 ms"; a gated run makes EVALS evaluations, writes "S" to the file LOG at the start
// of each of its turns and reports how many turns it was given.
const FAKE_SERVER = `
const it = require("node:readline").createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await it.next()).value;
(async () => {
  console.log("ready");
  for (;;) {
    const line = await next();
    if (line === undefined || line === "quit") break;
    if (!line.startsWith("run ")) { console.log(line === "bad" ? "error: unknown step" : "10"); continue; }
    console.log("ready");
    let turns = 0;
    const wait = async () => {
      const l = await next();
      if (l !== "go") throw new Error("expected go, got " + l);
      turns++;
      require("node:fs").appendFileSync(process.env.LOG, "S");
    };
    await wait();
    for (let i = 0; i < Number(process.env.EVALS); i++) { console.log("yield"); await wait(); }
    console.log("done " + turns);
  }
})();
`;

/** Runs `body` with a fake server making `evals` evaluations per run; `log` is the shared event file. */
function withServer(evals: number, body: (server: TorchServerSpec, log: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "scoregen-lockstep-"));
  const script = join(dir, "fake-server.cjs"),
    log = join(dir, "events");
  writeFileSync(script, FAKE_SERVER);
  writeFileSync(log, "");
  const env = { ...process.env, EVALS: String(evals), LOG: log };
  return body({ python: process.execPath, args: [script], env }, log).finally(() =>
    rmSync(dir, { recursive: true, force: true }),
  );
}

/** A model that counts its evaluations and writes "T" to `log` at each. */
function countingModel(log: string): ScoreModel {
  return {
    dim: 2,
    nfe: 0,
    async score(x) {
      this.nfe++;
      appendFileSync(log, "T");
      return x.slice();
    },
    async scoreVjp(x, _t, _n, v) {
      this.nfe++;
      return { score: x.slice(), vjp: v.slice() };
    },
  };
}

// Expected order of turns in one run: the other side starts at scoregen's first evaluation; while
// both run they alternate; then the one left runs alone.
for (const [ours, theirs, order] of [
  [5, 3, "STSTSTSTT"],
  [2, 6, "STSTSSSSS"],
] as const)
  test(`end-to-end lockstep: ${ours} scoregen evaluations against ${theirs} on the other side take turns`, async () => {
    await withServer(theirs, async (server, log) => {
      const inner = countingModel(log);
      let gated: ScoreModel | undefined;
      const rows = await withTorchServer(server, (torch) =>
        runLockstepEnd2End(
          ["fake"],
          async (_name, wrap) => {
            gated = wrap(inner);
            return async () => {
              for (let i = 0; i < ours; i++) await gated!.score(new Float64Array(2), new Float64Array(1), 1);
            };
          },
          torch,
          2,
          () => 1,
        ),
      );
      assert.equal(readFileSync(log, "utf8"), order.repeat(3), "one warm-up and two timed runs, each in that order");
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.scoregenMs.length, 2, "two timed runs after one warm-up");
      assert.deepEqual(rows[0]!.torchMs, [theirs + 1, theirs + 1], "the other side's report is its figure");
      assert.equal(inner.nfe, 3 * ours, "every evaluation reached the wrapped model");
      assert.equal(gated!.nfe, inner.nfe);
      for (const ms of rows[0]!.scoregenMs) assert.ok(ms >= 0 && ms < 5000, `active ms ${ms}`);
    });
  });

test("step lockstep: pairs are counted and the other side's times are its replies", async () => {
  await withServer(0, async (server) => {
    let calls = 0;
    const rows = await withTorchServer(server, (torch) =>
      runLockstep({ "fake.step": async () => void calls++ }, torch, 6, 1),
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.pairs, 6);
    assert.equal(calls, 7, "one warm-up and six timed steps");
    assert.equal(rows[0]!.torchMs, 10);
    const [q1, med, q3] = rows[0]!.ratio;
    assert.ok(q1 <= med && med <= q3 && med >= 0, `ratios ${rows[0]!.ratio}`);
  });
});

test("step lockstep: an error line from the server fails with it", async () => {
  await withServer(0, async (server) => {
    await assert.rejects(
      withTorchServer(server, (torch) => runLockstep({ bad: async () => {} }, torch, 2, 0)),
      /PyTorch server: error: unknown step/,
    );
  });
});
