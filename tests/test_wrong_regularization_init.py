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
        "l2_penalty_not_squared": (
            "l2_penalty",
            "test_l2_penalty",
            "np.asarray(W, dtype=float) ** 2",
            "np.abs(np.asarray(W, dtype=float))",
        ),
        "l1_gradient_is_W": (
            "l1_grad",
            "test_l1_grad",
            "np.sign(np.asarray(W, dtype=float))",
            "np.asarray(W, dtype=float)",
        ),
        "weight_elimination_gradient_not_squared_denominator": (
            "weight_elimination_grad",
            "test_weight_elimination_grad",
            "(1.0 + W**2) ** 2",
            "(1.0 + W**2)",
        ),
        "regularized_gradient_lam_not_2lam": (
            "regularized_loss_and_grads",
            "test_regularized_loss_and_grads",
            "grads[key] + 2.0 * lam * value",
            "grads[key] + lam * value",
        ),
        "early_stopping_nan_improves": (
            "early_stopping",
            "test_early_stopping",
            "if loss < best_loss:",
            "if not loss >= best_loss:",
        ),
        "early_stopping_tie_improves": (
            "early_stopping",
            "test_early_stopping",
            "if loss < best_loss:",
            "if loss <= best_loss:",
        ),
        "dropout_keeps_with_probability_p": (
            "dropout",
            "test_dropout",
            "(self.rng.random(x.shape) >= self.p)",
            "(self.rng.random(x.shape) < self.p)",
        ),
        "dropout_stale_mask_in_evaluation": (
            "dropout",
            "test_dropout",
            "        else:\n            self.mask = np.ones_like(x)\n        return x * self.mask",
            "            return x * self.mask\n        return x",
        ),
        "dropout_bprop_without_mask": (
            "dropout",
            "test_dropout",
            "return np.asarray(grad_out, dtype=float) * self.mask",
            "return np.asarray(grad_out, dtype=float)",
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
        "glorot_without_square_root": (
            "glorot_uniform",
            "test_glorot_uniform",
            "np.sqrt(6.0 / (fan_in + fan_out))",
            "6.0 / (fan_in + fan_out)",
        ),
        "glorot_bound_is_the_std": (
            "glorot_uniform",
            "test_glorot_uniform",
            "np.sqrt(6.0 / (fan_in + fan_out))",
            "np.sqrt(2.0 / (fan_in + fan_out))",
        ),
        "gradient_norms_without_1_over_N": (
            "gradient_norms",
            "test_gradient_norms",
            "    delta /= N\n",
            "",
        ),
        "gradient_norms_delta_times_g": (
            "gradient_norms",
            "test_gradient_norms",
            "* g_prime(A[k - 2])",
            "* g(A[k - 2])",
        ),
        "he_with_factor_1": (
            "he_normal",
            "test_he_normal",
            "np.sqrt(2.0 / fan_in)",
            "np.sqrt(1.0 / fan_in)",
        ),
        "he_with_fan_out": (
            "he_normal",
            "test_he_normal",
            "np.sqrt(2.0 / fan_in)",
            "np.sqrt(2.0 / fan_out)",
        ),
        "he_with_the_glorot_variance": (
            "he_normal",
            "test_he_normal",
            "np.sqrt(2.0 / fan_in)",
            "np.sqrt(2.0 / (fan_in + fan_out))",
        ),
        "he_variance_as_the_std": (
            "he_normal",
            "test_he_normal",
            "np.sqrt(2.0 / fan_in) *",
            "(2.0 / fan_in) *",
        ),
        "units_stay_identical_ignores_outgoing_weights": (
            "units_stay_identical",
            "test_units_stay_identical",
            " and np.allclose(W2[:, i], W2[:, j])",
            "",
        ),
        "units_stay_identical_compares_rows_of_W2": (
            "units_stay_identical",
            "test_units_stay_identical",
            "np.allclose(W2[:, i], W2[:, j])",
            "np.allclose(W2[i], W2[j])",
        ),
    },
}


test_each_mistake_loses_the_points_of_its_exercise_only = mistakes_test(MISTAKES)
test_each_mistake_fails_its_visible_test = visible_mistakes_test(MISTAKES)
