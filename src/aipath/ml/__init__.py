"""Classical machine learning from scratch on NumPy, one concept per module.

Linear algebra (``matmul``, ``eigen``, ``qr``), probability and statistics
(``probability``, ``distributions``, ``mle``, ``inference``), models
(``linear_regression``, ``logistic``, ``tree``/``pruning``/``forest``, ``svm``, ``knn``,
``kmeans``, ``pca``) and ``metrics``. Each is tested against NumPy, SciPy or scikit-learn.
"""
