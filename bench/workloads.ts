/** Further benchmark workloads, each returning its figures in ms (the ScoreNet one arrives with the images issue). */
export const extraWorkloads: Record<string, (reps: number) => Promise<Record<string, number>>> = {};
