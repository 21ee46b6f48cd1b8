"""Recursive networks over trees: the Tree-RNN, the RNTN and the binary Tree-LSTM over binary trees,
the Child-Sum Tree-LSTM over trees of any arity, with a softmax at every node (the Stanford Sentiment
Treebank's task).

    from rnnkit.data.trees import read_trees
    from rnnkit.treenet import TreeNet, TreeNetConfig, make_batch
"""
from rnnkit.treenet.batch import Level, TreeBatch, make_batch
from rnnkit.treenet.model import TreeNet, TreeNetCache, TreeNetConfig
from rnnkit.treenet.labels import SCHEMES
from rnnkit.treenet.task import TreeEncoder, TreeTask, load_treenet, predict_nodes, tree_scores

__all__ = ["SCHEMES", "Level", "TreeBatch", "TreeEncoder", "TreeNet", "TreeNetCache", "TreeNetConfig", "TreeTask",
           "load_treenet", "make_batch", "predict_nodes", "tree_scores"]
