"""An evolutionary (genetic) search as a KerasTuner Oracle.

Generation 0 is ``population_size`` random configurations. Each later generation is bred
from the completed trials of the one before plus the ``elitism`` best configurations found
so far (elites stay parents without being retrained: re-running a known configuration
would spend a trial to learn nothing). A child is a tournament winner, uniformly crossed
with a second winner with probability ``crossover_rate``, then each of its genes mutated
with probability ``mutation_rate`` (a Gaussian step on KerasTuner's [0, 1) scale of the
hyperparameter, which respects log scales and steps; another value for an unordered
choice; a flip for a boolean). A generation starts only when the previous one has ended,
so with several workers the oracle answers IDLE in between.

Being an Oracle subclass, it gets KerasTuner's trial bookkeeping, duplicate detection,
resume (its state is saved in oracle.json) and chief/worker mode for free. Randomness is
seeded per trial (``seed`` and trial id), so a search and its resumed copy breed alike.
"""

from __future__ import annotations

import random

import keras_tuner
from keras_tuner.engine.hyperparameters import Boolean, Choice, Fixed
from keras_tuner.engine.trial import TrialStatus

ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED)
MUTATION_SCALE = 0.2  # standard deviation of a mutation step on the [0, 1) scale

Candidate = tuple[dict, float]  # hyperparameter values and their objective score


def tournament(candidates: list[Candidate], size: int, rng: random.Random,
               maximize: bool) -> dict:
    """The values of the best of ``size`` candidates drawn without replacement."""
    entrants = rng.sample(candidates, min(size, len(candidates)))
    pick = max if maximize else min
    return dict(pick(entrants, key=lambda c: c[1])[0])


def crossover(a: dict, b: dict, rng: random.Random) -> dict:
    """Uniform crossover: each gene from ``a`` or ``b`` with equal probability."""
    return {key: a[key] if rng.random() < 0.5 else b[key] for key in a}


def mutate_gene(hp, value, rng: random.Random):
    """One gene's new value (it may equal the old one for a fine-grained numeric step)."""
    if isinstance(hp, Fixed):
        return value
    if isinstance(hp, Boolean):
        return not value
    if isinstance(hp, Choice) and not hp.ordered:
        others = [v for v in hp.values if v != value]
        return rng.choice(others) if others else value
    prob = hp.value_to_prob(value) + rng.gauss(0.0, MUTATION_SCALE)
    return hp.prob_to_value(min(max(prob, 0.0), 1.0 - 1e-9))


def mutate(values: dict, hyperparameters, rate: float, rng: random.Random) -> dict:
    """A copy of ``values`` with each gene mutated with probability ``rate``."""
    child = dict(values)
    for hp in hyperparameters.space:
        if hp.name in child and rng.random() < rate:
            child[hp.name] = mutate_gene(hp, child[hp.name], rng)
    return child


def elites(candidates: list[Candidate], count: int, maximize: bool) -> list[Candidate]:
    """The ``count`` best candidates, best first."""
    return sorted(candidates, key=lambda c: c[1], reverse=maximize)[:count]


class EvolutionOracle(keras_tuner.Oracle):
    """Generational genetic search: tournament selection, crossover, mutation, elitism."""

    def __init__(self, population_size=10, tournament_size=2, crossover_rate=0.7,
                 mutation_rate=0.3, elitism=1, **kwargs):
        super().__init__(allow_new_entries=False, tune_new_entries=False, **kwargs)
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.crossover_rate = crossover_rate
        self.mutation_rate = mutation_rate
        self.elitism = elitism
        self.generation_of: dict[str, int] = {}  # trial id -> generation

    @property
    def _maximize(self) -> bool:
        return self.objective.direction == "max"

    def populate_space(self, trial_id):
        """Values for a new trial: random in generation 0, bred afterwards."""
        generation = self._open_generation()
        if generation is None:  # the previous generation is still running
            return {"status": TrialStatus.IDLE, "values": None}
        rng = random.Random(f"{self.seed}:{trial_id}")
        values = self._offspring(generation, rng) if generation else self._random_values()
        if values is None:  # the space is exhausted
            status = TrialStatus.IDLE if self.ongoing_trials else TrialStatus.STOPPED
            return {"status": status, "values": None}
        self.generation_of[trial_id] = generation
        return {"status": TrialStatus.RUNNING, "values": values}

    def _open_generation(self) -> int | None:
        """The generation of the next trial; None while the last full one has not ended."""
        if not self.generation_of:
            return 0
        current = max(self.generation_of.values())
        members = [t for t, g in self.generation_of.items() if g == current]
        if len(members) < self.population_size:
            return current
        if all(self.trials[t].status in ENDED for t in members):
            return current + 1
        return None

    def scored(self, generations: range) -> list[Candidate]:
        """(values, score) of the completed trials of the given generations, by trial id (a
        reloaded oracle lists its trials in another order; the breeding must not change)."""
        return [
            (dict(trial.hyperparameters.values), trial.score)
            for trial_id, trial in sorted(self.trials.items())
            if trial.status == TrialStatus.COMPLETED
            and self.generation_of.get(trial_id) in generations
        ]

    def parents(self, generation: int) -> list[Candidate]:
        """The breeding pool: the previous generation plus the elites of all earlier ones."""
        pool = self.scored(range(generation - 1, generation))
        best = elites(self.scored(range(generation)), self.elitism, self._maximize)
        return pool + [c for c in best if c not in pool]

    def _offspring(self, generation: int, rng: random.Random) -> dict | None:
        """A new, not yet tried child of the breeding pool (random if it has no members)."""
        pool = self.parents(generation)
        if not pool:  # every trial so far failed
            return self._random_values()
        for _ in range(self._max_collisions):
            child = tournament(pool, self.tournament_size, rng, self._maximize)
            if rng.random() < self.crossover_rate:
                other = tournament(pool, self.tournament_size, rng, self._maximize)
                child = crossover(child, other, rng)
            child = mutate(child, self.hyperparameters, self.mutation_rate, rng)
            if not self._duplicate(child):
                return child
        return self._random_values()

    def get_state(self):
        """The base state plus the GA settings and each trial's generation."""
        state = super().get_state()
        state.update({
            "population_size": self.population_size,
            "tournament_size": self.tournament_size,
            "crossover_rate": self.crossover_rate,
            "mutation_rate": self.mutation_rate,
            "elitism": self.elitism,
            "generation_of": self.generation_of,
        })
        return state

    def set_state(self, state):
        """Restore what ``get_state`` saved (resume)."""
        super().set_state(state)
        self.population_size = state["population_size"]
        self.tournament_size = state["tournament_size"]
        self.crossover_rate = state["crossover_rate"]
        self.mutation_rate = state["mutation_rate"]
        self.elitism = state["elitism"]
        self.generation_of = dict(state["generation_of"])
