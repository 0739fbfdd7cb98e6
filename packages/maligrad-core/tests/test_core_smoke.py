import numpy as np

import maligrad as mg


def test_readme_example():
    a = mg.Variable(2 * np.ones((3, 3)), requires_grad=True)
    b = mg.Variable(3 * np.ones((3, 3)))
    (a[0] * b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [[9, 9, 9], [0, 0, 0], [0, 0, 0]])
