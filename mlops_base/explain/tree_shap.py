"""Exact SHAP values of a decision tree: path-dependent TreeSHAP (Lundberg, Erion, Lee: "Consistent
Individualized Feature Attribution for Tree Ensembles", 2018, Algorithm 2), the algorithm behind the
`shap` package's TreeExplainer without a background dataset. A feature left out of a coalition
follows both branches of its splits, weighted by the training samples each branch saw (cover).

Vectorized over rows: every row walks the same unique paths through the tree, only which child is
"hot" (the one the row goes to) differs, so a path's one-fractions are 0/1 arrays, one per row,
and one walk of the tree explains every row at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEAF = -1  # children_left/children_right of a leaf, as scikit-learn marks them


@dataclass(frozen=True)
class Tree:
    """A binary tree as arrays (scikit-learn's `tree_` layout): a row goes left when
    `x[feature] <= threshold` (or, with `left_when_true`, when a custom test says so)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray  # (nodes, outputs): what a leaf predicts
    cover: np.ndarray  # (nodes,): the (weighted) training samples through each node

    def expected_value(self) -> np.ndarray:
        """The tree's mean prediction over its training samples: its SHAP base value."""
        leaves = self.left == LEAF
        return (self.value[leaves] * self.cover[leaves, None]).sum(axis=0) / self.cover[0]


@dataclass
class _Path:
    """The unique path so far (one entry per distinct feature split on), as parallel lists."""

    feature: list[int]
    zero: list[float]  # the share of cover that follows the path (the feature left out)
    one: list[np.ndarray]  # per row: 1 where the row itself follows the path
    weight: list[np.ndarray]  # per row: the permutation weights

    def copy(self) -> _Path:
        return _Path(self.feature[:], self.zero[:], self.one[:], [w.copy() for w in self.weight])

    def extend(self, zero: float, one: np.ndarray, feature: int) -> None:
        depth = len(self.feature)
        self.feature.append(feature)
        self.zero.append(zero)
        self.one.append(one)
        self.weight.append(np.full(one.shape, 1.0 if depth == 0 else 0.0))
        for i in range(depth - 1, -1, -1):
            self.weight[i + 1] = self.weight[i + 1] + one * self.weight[i] * (i + 1) / (depth + 1)
            self.weight[i] = zero * self.weight[i] * (depth - i) / (depth + 1)

    def unwind(self, index: int) -> None:
        depth = len(self.feature) - 1
        one, zero = self.one[index], self.zero[index]
        following = self.weight[depth]
        for i in range(depth - 1, -1, -1):
            kept = self.weight[i]
            with np.errstate(divide="ignore", invalid="ignore"):
                if_one = following * (depth + 1) / ((i + 1) * one)
                if_zero = kept * (depth + 1) / (zero * (depth - i))
            self.weight[i] = np.where(one != 0, if_one, if_zero)
            following = np.where(one != 0, kept - self.weight[i] * zero * (depth - i) / (depth + 1), following)
        for column in (self.feature, self.zero, self.one):
            del column[index]
        del self.weight[depth]

    def unwound_sum(self, index: int) -> np.ndarray:
        depth = len(self.feature) - 1
        one, zero = self.one[index], self.zero[index]
        following = self.weight[depth]
        total = np.zeros_like(following)
        for i in range(depth - 1, -1, -1):
            with np.errstate(divide="ignore", invalid="ignore"):
                step = following * (depth + 1) / ((i + 1) * one)
                if_zero = (self.weight[i] / zero) * (depth + 1) / (depth - i) if zero else np.zeros_like(total)
            total = total + np.where(one != 0, step, if_zero)
            following = np.where(one != 0, self.weight[i] - step * zero * (depth - i) / (depth + 1), following)
        return total


def tree_shap(tree: Tree, x: np.ndarray, phi: np.ndarray) -> None:
    """Add the tree's SHAP values of the rows `x` (n, features) into `phi` (n, features, outputs)."""

    def walk(node: int, path: _Path, zero: float, one: np.ndarray, feature: int) -> None:
        path.extend(zero, one, feature)
        if tree.left[node] == LEAF:
            for i in range(1, len(path.feature)):
                w = path.unwound_sum(i) * (path.one[i] - path.zero[i])
                phi[:, path.feature[i], :] += w[:, None] * tree.value[node][None, :]
            return
        split = int(tree.feature[node])
        goes_left = (x[:, split] <= tree.threshold[node]).astype(np.float64)
        incoming_zero, incoming_one = 1.0, np.ones(len(x))
        if split in path.feature[1:]:
            k = path.feature.index(split, 1)
            incoming_zero, incoming_one = path.zero[k], path.one[k]
            path.unwind(k)
        cover = tree.cover[node]
        for child, goes in ((tree.left[node], goes_left), (tree.right[node], 1.0 - goes_left)):
            walk(int(child), path.copy(), incoming_zero * tree.cover[child] / cover, incoming_one * goes, split)

    walk(0, _Path([], [], [], []), 1.0, np.ones(len(x)), -1)
