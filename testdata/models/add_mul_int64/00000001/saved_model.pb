Š
"serve*tfserve-modelwriter²
7
aPlaceholder*
dtype0	*
shape:ÿÿÿÿÿÿÿÿÿ
7
bPlaceholder*
dtype0	*
shape:ÿÿÿÿÿÿÿÿÿ

sumAddV2ab*
T0	

productMulab*
T0	"*´
serving_default 

a	ÿÿÿÿÿÿÿÿÿ
a:0

b	ÿÿÿÿÿÿÿÿÿ
b:0'
product	ÿÿÿÿÿÿÿÿÿ
	product:0
sum	ÿÿÿÿÿÿÿÿÿ
sum:0tensorflow/serving/predict