package kernels

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"

	"github.com/tfserve/tfserve/tensor"
)

// registry maps TF op names to builders. It is built once and never
// modified; Lookup wraps every builder so that its Func validates inputs and
// turns a panic into an error.
var registry = buildRegistry()

func buildRegistry() map[string]Builder {
	r := map[string]Builder{
		// Identities and constants.
		"Identity":               identity("Identity"),
		"Snapshot":               identity("Snapshot"),
		"StopGradient":           identity("StopGradient"),
		"PreventGradient":        identity("PreventGradient"),
		"PlaceholderWithDefault": identity("PlaceholderWithDefault"),
		"IdentityN":              simple(identityN),
		"Const":                  constBuilder,
		"NoOp":                   simple(noOp),
		"DisableCopyOnRead":      simple(noOp),
		"EnsureShape":            ensureShapeBuilder,
		"Assert":                 assertBuilder,
		"CheckNumerics":          checkNumericsBuilder,

		// Elementwise binary.
		"AddN":                  addN,
		"Equal":                 binaryCompare("Equal"),
		"NotEqual":              binaryCompare("NotEqual"),
		"Less":                  binaryCompare("Less"),
		"LessEqual":             binaryCompare("LessEqual"),
		"Greater":               binaryCompare("Greater"),
		"GreaterEqual":          binaryCompare("GreaterEqual"),
		"LogicalAnd":            binaryLogical("LogicalAnd"),
		"LogicalOr":             binaryLogical("LogicalOr"),
		"LogicalNot":            simple(logicalNot),
		"IsNan":                 floatPredicate("IsNan"),
		"IsInf":                 floatPredicate("IsInf"),
		"IsFinite":              floatPredicate("IsFinite"),
		"Select":                simple(selectV1),
		"SelectV2":              simple(selectV2),
		"ClipByValue":           simple(clipByValue),
		"Cast":                  castBuilder,
		"BiasAdd":               biasAddBuilder("BiasAdd"),
		"BiasAddV1":             biasAddBuilder("BiasAddV1"),
		"Softmax":               softmaxBuilder("Softmax"),
		"LogSoftmax":            softmaxBuilder("LogSoftmax"),
		"MatMul":                matMulBuilder,
		"BatchMatMul":           batchMatMulBuilder("BatchMatMul"),
		"BatchMatMulV2":         batchMatMulBuilder("BatchMatMulV2"),
		"BatchMatMulV3":         batchMatMulBuilder("BatchMatMulV3"),
		"Einsum":                einsumBuilder,
		"Conv2D":                conv2dBuilder,
		"DepthwiseConv2dNative": depthwiseBuilder,
		"MaxPool":               poolBuilder("MaxPool"),
		"MaxPoolV2":             poolBuilder("MaxPoolV2"),
		"AvgPool":               poolBuilder("AvgPool"),

		// Reductions and scans.
		"ArgMax":  argBuilder("ArgMax"),
		"ArgMin":  argBuilder("ArgMin"),
		"Cumsum":  cumBuilder("Cumsum"),
		"Cumprod": cumBuilder("Cumprod"),

		// Shapes.
		"Reshape":       simple(reshape),
		"Shape":         shapeBuilder,
		"ShapeN":        shapeNBuilder,
		"Size":          sizeBuilder,
		"Rank":          simple(rank),
		"ExpandDims":    simple(expandDims),
		"Squeeze":       squeezeBuilder,
		"BroadcastArgs": simple(broadcastArgs),
		"BroadcastTo":   simple(broadcastTo),

		// Arrays.
		"Transpose":         transpose("Transpose"),
		"InvertPermutation": simple(invertPermutation),
		"ConcatV2":          simple(concatV2),
		"Concat":            simple(concatV1),
		"ConcatOffset":      simple(concatOffset),
		"Pack":              packBuilder,
		"Unpack":            unpackBuilder,
		"Split":             splitBuilder,
		"SplitV":            splitVBuilder,
		"Slice":             simple(sliceOp),
		"StridedSlice":      stridedSliceBuilder,
		"StridedSliceGrad":  stridedSliceGradBuilder,
		"Tile":              simple(tile),
		"Fill":              simple(fill),
		"ZerosLike":         simple(zerosLike),
		"OnesLike":          simple(onesLike),
		"Range":             simple(rangeOp),
		"GatherV2":          gatherV2Builder,
		"Gather":            simple(gatherV1),
		"GatherNd":          simple(gatherNd),
		"ReverseV2":         simple(reverseV2),
		"OneHot":            oneHotBuilder,
		"Pad":               padBuilder("Pad"),
		"PadV2":             padBuilder("PadV2"),
		"MirrorPad":         mirrorPadBuilder,
		"Empty":             emptyBuilder,
		"TopKV2":            topKBuilder,
		"Unique":            uniqueBuilder,
		"Where":             simple(where),

		// Strings and files.
		"StringJoin":           stringJoinBuilder,
		"StaticRegexFullMatch": staticRegexFullMatchBuilder,
		"RegexFullMatch":       simple(regexFullMatch),
		"StaticRegexReplace":   staticRegexReplaceBuilder,
		"RegexReplace":         regexReplaceBuilder,
		"StringLength":         stringLengthBuilder,
		"StringToNumber":       stringToNumberBuilder,
		"AsString":             asStringBuilder,
		"ReadFile":             simple(readFile),
		"ShardedFilename":      simple(shardedFilename),

		// Examples.
		"ParseExample":   parseExampleBuilder("ParseExample"),
		"ParseExampleV2": parseExampleBuilder("ParseExampleV2"),

		// Random.
		"RandomUniform":        randomBuilder("RandomUniform"),
		"RandomStandardNormal": randomBuilder("RandomStandardNormal"),
		"TruncatedNormal":      randomBuilder("TruncatedNormal"),

		// Variables.
		"ReadVariableOp":      readVariableBuilder,
		"AssignVariableOp":    assignVariableBuilder,
		"AssignAddVariableOp": assignAddVariable("AssignAddVariableOp", false),
		"AssignSubVariableOp": assignAddVariable("AssignSubVariableOp", true),
		"VarIsInitializedOp":  simple(varIsInitialized),
		"ResourceGather":      resourceGatherBuilder,
		"Assign":              refAssignBuilder,
		"AssignAdd":           refAssignAdd("AssignAdd", false),
		"AssignSub":           refAssignAdd("AssignSub", true),

		// Lookup tables.
		"HashTableV2":                   hashTableBuilder("HashTableV2"),
		"MutableHashTableV2":            hashTableBuilder("MutableHashTableV2"),
		"LookupTableFindV2":             simple(lookupTableFind),
		"LookupTableImportV2":           simple(lookupTableImport),
		"LookupTableSizeV2":             simple(lookupTableSize),
		"LookupTableExportV2":           simple(lookupTableExport),
		"InitializeTableV2":             simple(initializeTable),
		"InitializeTableFromTextFileV2": initFromTextFileBuilder,

		// Tensor lists.
		"EmptyTensorList":                   emptyTensorListBuilder,
		"TensorListReserve":                 tensorListReserveBuilder,
		"TensorListFromTensor":              tensorListFromTensorBuilder,
		"TensorListGetItem":                 tensorListGetItemBuilder,
		"TensorListSetItem":                 tensorListSetItemBuilder,
		"TensorListStack":                   tensorListStackBuilder,
		"TensorListGather":                  tensorListGatherBuilder,
		"TensorListLength":                  simple(tensorListLength),
		"TensorListElementShape":            tensorListElementShapeBuilder,
		"TensorListPushBack":                simple(tensorListPushBack),
		"TensorListPopBack":                 simple(tensorListPopBack),
		"TensorListResize":                  simple(tensorListResize),
		"TensorListConcatV2":                tensorListConcatBuilder,
		"TensorListScatterIntoExistingList": simple(tensorListScatterIntoExisting),

		// TF1 tensor arrays.
		"TensorArrayV3":        tensorArrayBuilder,
		"TensorArrayWriteV3":   simple(tensorArrayWrite),
		"TensorArrayReadV3":    simple(tensorArrayRead),
		"TensorArraySizeV3":    simple(tensorArraySize),
		"TensorArrayGatherV3":  tensorArrayGatherBuilder,
		"TensorArrayScatterV3": simple(tensorArrayScatter),

		// TF1 fused recurrent cells.
		"GRUBlockCell":  simple(gruBlockCell),
		"LSTMBlockCell": lstmBlockCellBuilder,
	}
	for _, op := range []string{"Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "DivNoNan", "MulNoNan",
		"FloorDiv", "FloorMod", "Mod", "TruncateDiv", "TruncateMod", "Maximum", "Minimum", "Pow",
		"SquaredDifference", "Atan2", "Xdivy"} {
		r[op] = binaryArith(op)
	}
	for _, op := range []string{"Neg", "Abs", "Sign", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Log1p",
		"Expm1", "Reciprocal", "Inv", "Floor", "Ceil", "Round", "Rint", "Sigmoid", "Tanh", "Relu", "Relu6",
		"Elu", "Selu", "LeakyRelu", "Softplus", "Softsign", "Erf", "Erfc", "Sin", "Cos", "Tan", "Asin",
		"Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"} {
		r[op] = unary(op)
	}
	for _, op := range []string{"Sum", "Mean", "Max", "Min", "Prod", "All", "Any"} {
		r[op] = reductionBuilder(op)
	}
	return r
}

// Lookup returns the kernel builder for a TF op name. The Funcs it builds
// check that their inputs hold the data their dtype and shape promise and
// never panic: an internal failure comes back as an error naming the op.
func Lookup(op string) (Builder, bool) {
	b, ok := registry[op]
	if !ok {
		return nil, false
	}
	return guarded(op, b), true
}

// Supported lists the op names that have kernels, sorted.
func Supported() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// guarded wraps a builder so that neither it nor its Func can panic.
func guarded(op string, b Builder) Builder {
	return func(attrs Attrs, n int) (f Func, err error) {
		defer func() {
			if r := recover(); r != nil {
				f, err = nil, fmt.Errorf("%s: internal error building kernel: %v", op, r)
			}
		}()
		inner, err := b(attrs, n)
		if err != nil {
			return nil, err
		}
		return func(ctx *Context, in []*tensor.Tensor) (out []*tensor.Tensor, err error) {
			if err := checkData(op, in); err != nil {
				return nil, err
			}
			defer func() {
				if r := recover(); r != nil {
					slog.Error("kernel panic", "op", op, "panic", r, "stack", string(debug.Stack()))
					out, err = nil, Errorf("%s: internal error: %v", op, r)
				}
			}()
			return inner(ctx, in)
		}, nil
	}
}
