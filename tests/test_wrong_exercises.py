"""Classic wrong answers to the exercises of notebooks 01 (derivatives), 02 (gradient descent)
and 07 (training in practice) fail the visible test of their exercise, and lose its points,
and only those, under grading.

As in tests/test_wrong_bprops.py: one student per mistake (the solution with one solution cell
edited), graded by the real nbgrader next to the solution and the blank release, and the visible
tests run in this process (tests/wrong_answers.py). Exercises that later exercises call
(gd_step, used by gd and sgd_epoch) have no entry: their mistakes rightly cost those points too.
"""

from __future__ import annotations

from wrong_answers import Mistake, mistakes_test, visible_mistakes_test

#: The body of the solution of numerical_gradient, and the same with the aliasing bug:
#: xp = x (no copy), xp[i] += h, and the entry never put back.
NUMERICAL_GRADIENT = """    x = np.array(x, dtype=float)  # a private copy that we may perturb
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        f_plus = f(x)
        x[i] = saved - h
        f_minus = f(x)
        x[i] = saved
"""
ALIASED = """    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp = x
        saved = xp[i]
        xp[i] = saved + h
        f_plus = f(xp)
        xp[i] = saved - h
        f_minus = f(xp)
"""

# assignment -> student -> (solution cell, test cell it must fail, text in that solution cell,
# the same text with the mistake). Every other test cell must keep its full points.
MISTAKES: dict[str, dict[str, Mistake]] = {
    "01_derivatives": {
        "forward_difference_divided_by_2h": (
            "forward_difference",
            "test_forward_difference",
            "(f(x + h) - f(x)) / h",
            "(f(x + h) - f(x)) / (2 * h)",
        ),
        "central_difference_divided_by_h": (
            "central_difference",
            "test_central_difference",
            "(f(x + h) - f(x - h)) / (2 * h)",
            "(f(x + h) - f(x - h)) / h",
        ),
        "product_rule_without_second_term": (
            "derivative_rules",
            "test_derivative_rules",
            "du(x) * v(x) + u(x) * dv(x)",
            "du(x) * dv(x)",
        ),
        "numerical_gradient_perturbs_x_itself": (
            "numerical_gradient",
            "test_numerical_gradient",
            NUMERICAL_GRADIENT,
            ALIASED,
        ),
        "tangent_plane_with_matmul": (
            "tangent_plane",
            "test_tangent_plane",
            "np.sum(grad_x0 * (x - x0))",
            "grad_x0 @ (x - x0)",
        ),
        "sigmoid_derivative_is_g": ("sigmoid_grad", "test_sigmoid_grad", "s * (1 - s)", "s"),
        "tanh_derivative_missing_square": (
            "tanh_grad",
            "test_tanh_grad",
            "1 - tanh(a) ** 2",
            "1 - tanh(a)",
        ),
        "relu_derivative_one_at_zero": (
            "relu_grad",
            "test_relu_grad",
            "(np.asarray(a) > 0)",
            "(np.asarray(a) >= 0)",
        ),
        "unit_delta_with_g_instead_of_g_prime": (
            "unit_loss_grad",
            "test_unit_loss_grad",
            "(g(a) - y) * g_grad(a)",
            "(g(a) - y) * g(a)",
        ),
    },
    "02_gradient_descent": {
        "gd_path_without_start": (
            "gd",
            "test_gd",
            "return np.array(path)",
            "return np.array(path[1:])",
        ),
        "linreg_grad_without_1_over_N": (
            "linreg_grad",
            "test_linreg_grad",
            "da = (X @ w + b - y) / len(y)",
            "da = X @ w + b - y",
        ),
        "linreg_penalty_lam_not_2lam": (
            "linreg_grad",
            "test_linreg_grad",
            "2 * lam * w",
            "lam * w",
        ),
        "linreg_bias_penalized": (
            "linreg_grad",
            "test_linreg_grad",
            "np.sum(da))",
            "np.sum(da) + 2 * lam * b)",
        ),
        "logistic_grad_sign_flipped": (
            "logistic_grad",
            "test_logistic_grad",
            "(F.sigmoid(X @ w + b) - y)",
            "(y - F.sigmoid(X @ w + b))",
        ),
        "minibatches_global_rng": (
            "minibatches",
            "test_minibatches",
            "rng.permutation(len(X))",
            "np.random.permutation(len(X))",
        ),
        "minibatches_not_shuffled": (
            "minibatches",
            "test_minibatches",
            "rng.permutation(len(X))",
            "np.arange(len(X))",
        ),
        "sgd_epoch_full_gradient": (
            "sgd_epoch",
            "test_sgd_epoch",
            "grad_fn(path[-1], X_batch, y_batch)",
            "grad_fn(path[-1], X, y)",
        ),
        "momentum_other_form_velocity": (
            "momentum_step",
            "test_momentum_step",
            "velocity = grad + beta * velocity\n    return theta - lr * velocity, velocity",
            "velocity = beta * velocity - lr * grad\n    return theta + velocity, velocity",
        ),
        "newton_step_multiplies_by_H": (
            "newton_step",
            "test_newton_step",
            "np.linalg.solve(hessian, grad)",
            "hessian @ grad",
        ),
    },
    "07_training_in_practice": {
        "standardize_other_with_its_own_mean": (
            "standardize",
            "test_standardize",
            "(X_other - mu) / sigma",
            "(X_other - X_other.mean(axis=0)) / sigma",
        ),
        "standardize_divides_a_constant_column_by_zero": (
            "standardize",
            "test_standardize",
            "np.where(np.ptp(X_train, axis=0) == 0, 1.0, X_train.std(axis=0))",
            "X_train.std(axis=0)",
        ),
        "condition_number_without_the_bias_column": (
            "condition_number",
            "test_condition_number",
            "X1 = np.column_stack([X, np.ones(len(X))])",
            "X1 = X",
        ),
        "kfold_splits_not_shuffled": (
            "kfold_splits",
            "test_kfold_splits",
            "rng.permutation(n)",
            "np.arange(n)",
        ),
        "kfold_splits_global_rng": (
            "kfold_splits",
            "test_kfold_splits",
            "rng.permutation(n)",
            "np.random.permutation(n)",
        ),
        "cross_validate_returns_the_mean": (
            "cross_validate",
            "test_cross_validate",
            "return np.array([",
            "return np.mean([",
        ),
        "permute_columns_of_W2_with_the_inverse": (
            "permute_hidden_units",
            "test_permute_hidden_units",
            "np.asarray(W2)[:, perm]",
            "np.asarray(W2)[:, np.argsort(perm)]",
        ),
        "permute_forgets_the_biases": (
            "permute_hidden_units",
            "test_permute_hidden_units",
            "np.asarray(b1)[perm]",
            "np.asarray(b1)",
        ),
        "prelu_alpha_gradient_over_positive_entries": (
            "prelu",
            "test_prelu",
            "G * self.a * negative",
            "G * self.a * ~negative",
        ),
        "prelu_bprop_multiplies_everything_by_alpha": (
            "prelu",
            "test_prelu",
            'np.where(negative, self.params["alpha"], 1.0)',
            'self.params["alpha"]',
        ),
    },
}


test_each_mistake_fails_its_visible_test = visible_mistakes_test(MISTAKES)
test_each_mistake_loses_the_points_of_its_exercise_only = mistakes_test(MISTAKES)
