package rnn

import (
	"fmt"
	"math"
)

// Activation is an element-wise activation function of a recurrent layer.
type Activation int

// Activations. Tanh, Sigmoid, HardSigmoid, HardSigmoidV3, ReLU and Linear
// have vectorised float32 implementations; the others are computed one
// element at a time in float64.
const (
	Linear        Activation = iota // x
	Tanh                            // tanh(x)
	Sigmoid                         // 1/(1+exp(-x))
	HardSigmoid                     // Keras 2 "hard_sigmoid": clip(0.2x+0.5, 0, 1)
	HardSigmoidV3                   // Keras 3 "hard_sigmoid": relu6(x+3)/6 = clip(x/6+0.5, 0, 1)
	ReLU                            // max(x, 0)
	ReLU6                           // min(max(x, 0), 6)
	ELU                             // x if x > 0 else exp(x)-1
	SELU                            // scale*(x if x > 0 else alpha*(exp(x)-1))
	Softplus                        // log(1+exp(x))
	Softsign                        // x/(1+|x|)
	Swish                           // x*sigmoid(x) ("swish", "silu")
	Exponential                     // exp(x)
	GELU                            // exact: x/2*(1+erf(x/√2))
	numActivations
)

var activationNames = [numActivations]string{
	"linear", "tanh", "sigmoid", "hard_sigmoid", "hard_sigmoid(keras3)", "relu", "relu6", "elu",
	"selu", "softplus", "softsign", "swish", "exponential", "gelu",
}

// String returns the activation's Keras name.
func (a Activation) String() string {
	if a < 0 || a >= numActivations {
		return fmt.Sprintf("Activation(%d)", int(a))
	}
	return activationNames[a]
}

func (a Activation) valid() bool { return a >= 0 && a < numActivations }

// ParseActivation maps a Keras activation name to an Activation.
// kerasMajor (2 or 3) selects the meaning of "hard_sigmoid", which changed
// between Keras 2 (tf.keras, tf_keras) and Keras 3. A nil/empty name ("None"
// in a Keras config) is Linear.
func ParseActivation(name string, kerasMajor int) (Activation, error) {
	switch name {
	case "", "linear", "None":
		return Linear, nil
	case "tanh":
		return Tanh, nil
	case "sigmoid":
		return Sigmoid, nil
	case "hard_sigmoid":
		switch kerasMajor {
		case 2:
			return HardSigmoid, nil
		case 3:
			return HardSigmoidV3, nil
		}
		return 0, fmt.Errorf("activation hard_sigmoid: unknown Keras major version %d", kerasMajor)
	case "relu":
		return ReLU, nil
	case "relu6":
		return ReLU6, nil
	case "elu":
		return ELU, nil
	case "selu":
		return SELU, nil
	case "softplus":
		return Softplus, nil
	case "softsign":
		return Softsign, nil
	case "swish", "silu":
		return Swish, nil
	case "exponential":
		return Exponential, nil
	case "gelu":
		return GELU, nil
	}
	return 0, fmt.Errorf("unsupported activation %q", name)
}

// apply computes dst = a(x); dst may alias x.
func (a Activation) apply(v vec, dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) == 0 {
		return
	}
	switch a {
	case Linear:
		if &dst[0] != &x[0] {
			copy(dst, x)
		}
	case Tanh:
		v.tanh(dst, x)
	case Sigmoid:
		v.sigmoid(dst, x)
	case HardSigmoid:
		v.hardSigmoid(dst, x, 0.2, 0.5)
	case HardSigmoidV3:
		v.hardSigmoid(dst, x, 1.0/6, 0.5)
	case ReLU:
		v.relu(dst, x)
	default:
		for i, e := range x {
			dst[i] = float32(a.scalar(float64(e)))
		}
	}
}

// scalar evaluates the activation in float64 (the slow path, and the
// reference for tests).
func (a Activation) scalar(x float64) float64 {
	switch a {
	case Linear:
		return x
	case Tanh:
		return math.Tanh(x)
	case Sigmoid:
		return 1 / (1 + math.Exp(-x))
	case HardSigmoid:
		return math.Min(math.Max(0.2*x+0.5, 0), 1)
	case HardSigmoidV3:
		return math.Min(math.Max(x+3, 0), 6) / 6
	case ReLU:
		return math.Max(x, 0)
	case ReLU6:
		return math.Min(math.Max(x, 0), 6)
	case ELU:
		if x > 0 {
			return x
		}
		return math.Expm1(x)
	case SELU:
		const alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
		if x > 0 {
			return scale * x
		}
		return scale * alpha * math.Expm1(x)
	case Softplus:
		if x > 30 {
			return x
		}
		return math.Log1p(math.Exp(x))
	case Softsign:
		return x / (1 + math.Abs(x))
	case Swish:
		return x / (1 + math.Exp(-x))
	case Exponential:
		return math.Exp(x)
	case GELU:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	}
	return math.NaN()
}
