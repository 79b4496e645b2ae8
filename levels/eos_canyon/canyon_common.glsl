// The edge-of-stability canyon L(x, y) = f(x) + 1/2 h(x) y^2: the GLSL twin of the formulas in
// kernels.py (see its docstring for the derivation). Included by canyon_surface.glsl and
// canyon_sweep.glsl. The coefficients are those of Canyon.coefficients():
//   canyon[0] h0 (plateau curvature), [1] s = m kappa, [2] 1/m, [3] g0 (plateau slope),
//   [4] q = (h0 / depth)^m, [5] the offset that puts the floor's minimum at L = 0.

uniform float canyon[6];

float canyon_softplus(float z) {
    // log(1 + e^z) without overflow; GLSL has no log1p, and the few ulps lost for very
    // negative z are far below float32's resolution of the terms softplus is added to.
    return max(z, 0.0) + log(1.0 + exp(-abs(z)));
}

// Loss, gradient and the top eigenvalue of the exact 2x2 Hessian at (x, y).
void canyon_fields(float x, float y, out float loss, out float dx, out float dy, out float sharpness) {
    float h0 = canyon[0], s = canyon[1], inv_m = canyon[2], g0 = canyon[3], q = canyon[4];
    float z = s * x;
    // tanh of a clamped argument: some drivers build tanh from exp and return NaN for large |z|.
    float t = tanh(clamp(0.5 * z, -20.0, 20.0));
    float sig = 0.5 + 0.5 * t;
    float sig_neg = 0.5 - 0.5 * t;
    float h = h0 * exp(canyon_softplus(z) * inv_m);
    float dlog_h = s * inv_m * sig;
    float y2 = y * y;
    loss = g0 / s * canyon_softplus(-z) + g0 * q * x + canyon[5] + 0.5 * h * y2;
    dx = -g0 * (sig_neg - q) + 0.5 * h * dlog_h * y2;
    dy = h * y;
    float a = g0 * s * sig * sig_neg + 0.5 * h * (dlog_h * dlog_h + dlog_h * s * sig_neg) * y2;
    float b = h * dlog_h * y;
    sharpness = 0.5 * (a + h) + sqrt(0.25 * (a - h) * (a - h) + b * b);
}
