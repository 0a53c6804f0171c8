"""Classic wrong regularizers, dropout and initializers lose the points of their own exercise,
and only those.

Notebooks 05 (regularization) and 06 (initialization) are graded by the real nbgrader in
temporary copies of the course, with one student per classic mistake (the solution with one
solution cell edited) next to the solution and the blank release; one ``nbgrader autograde``
run per assignment, the two in parallel (tests/wrong_answers.py). About a minute.
"""

from __future__ import annotations

from wrong_answers import Mistake, mistakes_test, visible_mistakes_test

# assignment -> student -> (solution cell, test cell it must fail, text in that solution cell,
# the same text with the mistake). Every other test cell must keep its full points.
MISTAKES: dict[str, dict[str, Mistake]] = {
    "05_regularization": {
        "l2_gradient_W_instead_of_2W": (
            "l2_grad",
            "test_l2_grad",
            "return 2.0 * np.asarray(W, dtype=float)",
            "return np.asarray(W, dtype=float)",
        ),
        "biases_regularized": (
            "regularized_loss_and_grads",
            "test_regularized_loss_and_grads",
            'if key.startswith("W"):',
            'if key.startswith(("W", "b")):',
        ),
        "dropout_without_rescaling": (
            "dropout",
            "test_dropout",
            "(self.rng.random(x.shape) >= self.p) / (1.0 - self.p)",
            "(self.rng.random(x.shape) >= self.p) * 1.0",
        ),
    },
    "06_initialization": {
        "glorot_with_fan_in_only": (
            "glorot_uniform",
            "test_glorot_uniform",
            "np.sqrt(6.0 / (fan_in + fan_out))",
            "np.sqrt(6.0 / fan_in)",
        ),
        "he_with_factor_1": (
            "he_normal",
            "test_he_normal",
            "np.sqrt(2.0 / fan_in)",
            "np.sqrt(1.0 / fan_in)",
        ),
    },
}


test_each_mistake_loses_the_points_of_its_exercise_only = mistakes_test(MISTAKES)
test_each_mistake_fails_its_visible_test = visible_mistakes_test(MISTAKES)
