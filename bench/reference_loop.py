#!/usr/bin/python3
"""The yardstick for `fool run --encoding direct`: the same MAP-Elites, written as a plain PyTorch
script the way a researcher would write it by hand (issue 6).

Algorithm (PAPER.md §1.2-1.3, as fool implements it):
- genome: C*H*W floats, initialised U[0,1) with torch.rand; pixel = floor(255*|g|)/255;
- generation 0 is the random initial population, so evaluations = generations x population;
- each later generation draws `population` parents uniformly over the cells (one cell per class),
  copies them and applies per-gene polynomial mutation (rate 0.1, eta 15, clamp to [0,1]), with
  the rate halved every --halve-every generations as fool's default does;
- one forward per generation on the whole batch (split into --batch-size chunks), softmax;
- every cell j takes the child with the highest p_j if it is strictly greater than the elite's.

Prints one JSON object with the same definitions as fool's summary.json: evaluations, seconds
(from the first random genome to the last insertion; model loading excluded),
evaluations_per_second, median_confidence (torch.quantile 0.5 over the target classes' elite
confidences) and min_confidence. On a shared machine the totals swing with other processes' load,
so it also gives the 10th percentile and the median of the wall time of generations 1.. (one
generation = parent draw, mutation, forward, insertion), which bench/compare.sh sets against the
same figures from fool's progress.csv: the 10th percentile is the speed of the uncontended
generations.

Usage: /usr/bin/python3 bench/reference_loop.py --generations 250 --threads 2 --batch-size 200
"""
import argparse
import json
import sys
import time

import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/lenet_mnist.pt", help="TorchScript model with fool.json")
    p.add_argument("--generations", type=int, default=1000, help="generations, the random one included")
    p.add_argument("--population", type=int, default=200, help="initial genomes and offspring per generation")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    p.add_argument("--batch-size", type=int, default=1024, help="forward chunk size (0: whole population)")
    p.add_argument("--mutation-rate", type=float, default=0.1)
    p.add_argument("--mutation-eta", type=float, default=15.0)
    p.add_argument("--halve-every", type=int, default=1000, help="halve the rate every N generations (0: never)")
    return p.parse_args()


def main():
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    extra = {"fool.json": ""}
    model = torch.jit.load(args.model, map_location="cpu", _extra_files=extra)
    model.eval()
    info = json.loads(extra["fool.json"])
    c, h, w = info["input"]["channels"], info["input"]["height"], info["input"]["width"]
    outputs_probabilities = info.get("outputs", "logits") == "probabilities"
    num_classes = len(info["labels"])
    num_genes = c * h * w

    def evaluate(genomes):
        images = (genomes.abs() * 255).floor().clamp(0, 255) / 255
        images = images.view(-1, c, h, w)
        chunk = args.batch_size if args.batch_size > 0 else len(images)
        with torch.no_grad():
            scores = torch.cat([model(part) for part in images.split(chunk)])
        return scores.float() if outputs_probabilities else torch.softmax(scores.float(), dim=1)

    def mutate(parents, rate):
        children = parents.clone()
        mutated = torch.rand(children.shape) < rate
        r = torch.rand(children.shape)
        exponent = 1.0 / (args.mutation_eta + 1.0)
        delta = torch.where(r < 0.5, (2 * r) ** exponent - 1, 1 - (2 * (1 - r)) ** exponent)
        children[mutated] = (children[mutated] + delta[mutated]).clamp(0, 1)
        return children

    elites = torch.zeros(num_classes, num_genes)
    confidence = torch.full((num_classes,), -1.0)

    def insert(genomes, probabilities):
        best, best_child = probabilities.max(dim=0)
        better = best > confidence
        elites[better] = genomes[best_child[better]]
        confidence[better] = best[better]

    start = time.perf_counter()
    population = torch.rand(args.population, num_genes)
    insert(population, evaluate(population))
    evaluations = args.population
    generation_seconds = []
    for generation in range(1, args.generations):
        generation_start = time.perf_counter()
        rate = args.mutation_rate
        if args.halve_every > 0:
            rate *= 0.5 ** (generation // args.halve_every)
        parents = elites[torch.randint(num_classes, (args.population,))]
        children = mutate(parents, rate)
        insert(children, evaluate(children))
        evaluations += args.population
        generation_seconds.append(time.perf_counter() - generation_start)
    seconds = time.perf_counter() - start
    generation_seconds.sort()
    def percentile(q):
        return generation_seconds[int(q * (len(generation_seconds) - 1))] if generation_seconds else None

    json.dump({"evaluations": evaluations,
               "seconds": seconds,
               "evaluations_per_second": evaluations / seconds,
               "median_confidence": torch.quantile(confidence, 0.5).item(),
               "min_confidence": confidence.min().item(),
               "generation_seconds_p10": percentile(0.1),
               "generation_seconds_median": percentile(0.5),
               "threads": torch.get_num_threads(),
               "torch_version": torch.__version__}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
