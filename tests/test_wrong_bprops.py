"""Classic wrong implementations lose the points of their own exercise, and only those.

Notebooks 03 (softmax and cross-entropy) and 04 (backpropagation) are graded by the real
nbgrader. For each assignment, in a temporary copy of the course, the students are: the
solution, the blank release, and one student per classic mistake — the solution with one
solution cell's source edited to contain that mistake. One ``nbgrader autograde`` run grades
them all (the two assignments in parallel, each in its own course copy), and the score of every
test cell is read from the gradebook (tests/wrong_answers.py). The whole test takes about a
minute.
"""

from __future__ import annotations

from wrong_answers import Mistake, mistakes_test, visible_mistakes_test

# assignment -> student -> (solution cell, test cell it must fail, text in that solution cell,
# the same text with the mistake). Every other test cell must keep its full points.
MISTAKES: dict[str, dict[str, Mistake]] = {
    "03_softmax": {
        "softmax_without_max_shift": (
            "softmax",
            "test_softmax",
            "E = np.exp(A - A.max(axis=1, keepdims=True))",
            "E = np.exp(A)",
        ),
        "softmax_max_without_keepdims": (
            "softmax",
            "test_softmax",
            "A.max(axis=1, keepdims=True)",
            "A.max(axis=1)",
        ),
        "softmax_max_over_the_whole_batch": (
            "softmax",
            "test_softmax",
            "A.max(axis=1, keepdims=True)",
            "A.max()",
        ),
        "softmax_normalized_over_the_whole_batch": (
            "softmax",
            "test_softmax",
            "E / E.sum(axis=1, keepdims=True)",
            "E / E.sum()",
        ),
        "log_of_softmax": (
            "log_softmax",
            "test_log_softmax",
            "return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
            "return np.log(softmax(A))",
        ),
        "loss_summed_over_batch": (
            "cross_entropy",
            "test_cross_entropy",
            "-np.mean(",
            "-np.sum(",
        ),
        "probs_gradient_without_1_over_N": (
            "grad_wrt_probs",
            "test_grad_wrt_probs",
            "-1.0 / (N * probs[np.arange(N), y])",
            "-1.0 / probs[np.arange(N), y]",
        ),
        "logits_gradient_sign_flipped": (
            "grad_wrt_logits",
            "test_grad_wrt_logits",
            "return grad / N",
            "return -grad / N",
        ),
        "jacobian_elementwise_square": (
            "softmax_jacobian",
            "test_softmax_jacobian",
            "np.outer(p, p)",
            "p * p",
        ),
    },
    "04_backprop": {
        "linear_fprop_without_bias": (
            "linear",
            "test_linear_fprop",
            'return self.x @ self.params["W"].T + self.params["b"]',
            'return self.x @ self.params["W"].T',
        ),
        "linear_weight_gradient_transposed": (
            "linear",
            "test_linear_bprop",
            '"W": G.T @ self.x',
            '"W": self.x.T @ G',
        ),
        "linear_bias_gradient_not_summed": (
            "linear",
            "test_linear_bprop",
            '"b": G.sum(axis=0)',
            '"b": G',
        ),
        "sigmoid_derivative_is_g": (
            "sigmoid",
            "test_sigmoid_bprop",
            "* self.h * (1.0 - self.h)",
            "* self.h",
        ),
        "tanh_derivative_missing_square": (
            "tanh",
            "test_tanh_bprop",
            "(1.0 - self.h**2)",
            "(1.0 - self.h)",
        ),
        "relu_derivative_is_g": ("relu", "test_relu_bprop", "* (self.a > 0)", "* self.h"),
        "loss_gradient_without_1_over_N": (
            "softmax_cross_entropy",
            "test_softmax_cross_entropy_bprop",
            "return grad / N",
            "return grad",
        ),
        "sequential_forward_order": (
            "sequential",
            "test_sequential_bprop",
            "reversed(self.modules)",
            "self.modules",
        ),
        "backprop_multiplies_by_g": (
            "backprop",
            "test_backprop",
            "* g_prime(A[k - 1])",
            "* g(A[k - 1])",
        ),
        "training_by_gradient_ascent": (
            "train_mlp",
            "test_train_mlp",
            "net.params[name] -= lr * grad",
            "net.params[name] += lr * grad",
        ),
    },
}


test_each_mistake_loses_the_points_of_its_exercise_only = mistakes_test(MISTAKES)
test_each_mistake_fails_its_visible_test = visible_mistakes_test(MISTAKES)
