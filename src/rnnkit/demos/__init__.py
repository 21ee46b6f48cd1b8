"""Built-in demonstrations, each a library function the ``rnnkit demo`` command wraps.

- :mod:`rnnkit.demos.charlm`: a character-level LSTM language model on Python's standard library.
- :mod:`rnnkit.demos.addition`: an Elman RNN learns binary addition on 8-bit numbers and adds
  64-bit ones.
- :mod:`rnnkit.demos.reverse`: an attentional GRU encoder-decoder learns to reverse strings.
- :mod:`rnnkit.demos.tagging`: an HMM and a BiLSTM-CRF learn English parts of speech from the
  sentences of a small grammar (:mod:`rnnkit.demos.tagging_grammar`).
- :mod:`rnnkit.demos.segment`: Chinese word segmentation (中文分词) as BMES character tagging, an HMM
  and a BiLSTM-CRF against forward maximum matching, on the sentences of a small grammar
  (:mod:`rnnkit.demos.segment_grammar`).
- :mod:`rnnkit.demos.adding`, :mod:`rnnkit.demos.copying`: the adding problem and the copy-memory task, the
  long-range tasks an Elman RNN fails and an LSTM or GRU learns; the training they share is in
  :mod:`rnnkit.demos.longrange`.
- :mod:`rnnkit.demos.pointer_sort`: a pointer network learns to sort numbers, tested on longer sequences;
  :mod:`rnnkit.demos.pointer_hull`: the same network learns planar convex hulls.
- :mod:`rnnkit.demos.ctc`: a BiLSTM learns to transcribe synthetic noisy speech (:mod:`rnnkit.demos.ctc_speech`)
  by connectionist temporal classification, tested on longer strings against a frame-by-frame baseline.
"""
