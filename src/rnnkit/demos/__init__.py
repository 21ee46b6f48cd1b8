"""Built-in demonstrations, each a library function the ``rnnkit demo`` command wraps.

- :mod:`rnnkit.demos.charlm`: a character-level LSTM language model on Python's standard library.
- :mod:`rnnkit.demos.addition`: an Elman RNN learns binary addition on 8-bit numbers and adds
  64-bit ones.
"""
