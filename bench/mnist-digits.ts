/**
 * Writes held-out digits as .npy for the inpaint / colorize / interpolate commands:
 *   npx tsx bench/mnist-digits.ts mnist|mnist-color FIRST COUNT OUT.npy [--gray]
 * (the held-out split, images FIRST … FIRST+COUNT−1, in [-1, 1]; --gray: the channel mean [N, 1, 28, 28]).
 */
import { toGray } from "../src/controllable/index.ts";
import { writeFileAtomic } from "../src/io/files.ts";
import { encodeNpy } from "../src/io/npy.ts";
import { openImageSet } from "../src/tasks/sources.ts";

const [data, firstS, countS, out, flag] = process.argv.slice(2) as [string, string, string, string, string?];
const set = await openImageSet(data, { split: "test" });
const first = Number(firstS),
  count = Number(countS),
  per = set.c * 784;
const x = set.data.subarray(first * per, (first + count) * per);
const gray = flag === "--gray" && set.c === 3;
await writeFileAtomic(
  out,
  gray ? encodeNpy(toGray(x, count, 28, 28), [count, 1, 28, 28]) : encodeNpy(x, [count, set.c, 28, 28]),
);
console.log(
  `wrote ${count} ${gray ? "gray " : ""}${data} held-out digits (labels ${[...set.labels!.subarray(first, first + count)].join(" ")}) to ${out}`,
);
