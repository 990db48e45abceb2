module @traced attributes {mhlo.num_replicas = 1 : i32, mhlo.num_partitions = 1 : i32} {
  func.func public @main(%arg0: tensor<4x3xf32>, %arg1: tensor<5x4xf32>) -> tensor<4x3xf32> {
    %0 = "stablehlo.dot_general"(%arg1, %arg0) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>} : (tensor<5x4xf32>, tensor<4x3xf32>) -> tensor<5x3xf32>
    %1 = "stablehlo.tanh"(%0) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %2 = "stablehlo.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
    %6 = "stablehlo.reduce"(%1, %2) ({
    ^bb0(%3: tensor<f32>, %4: tensor<f32>):
      %5 = "stablehlo.maximum"(%3, %4) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%5) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<5x3xf32>, tensor<f32>) -> tensor<5xf32>
    %7 = "stablehlo.reshape"(%6) : (tensor<5xf32>) -> tensor<5x1xf32>
    %8 = "stablehlo.broadcast_in_dim"(%7) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<5x1xf32>) -> tensor<5x3xf32>
    %9 = "stablehlo.subtract"(%1, %8) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %10 = "stablehlo.exponential"(%9) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %11 = "stablehlo.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
    %15 = "stablehlo.reduce"(%10, %11) ({
    ^bb0(%12: tensor<f32>, %13: tensor<f32>):
      %14 = "stablehlo.add"(%12, %13) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%14) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<5x3xf32>, tensor<f32>) -> tensor<5xf32>
    %16 = "stablehlo.reshape"(%15) : (tensor<5xf32>) -> tensor<5x1xf32>
    %17 = "stablehlo.broadcast_in_dim"(%16) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<5x1xf32>) -> tensor<5x3xf32>
    %18 = "stablehlo.divide"(%10, %17) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %19 = "stablehlo.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
    %20 = "stablehlo.broadcast_in_dim"(%19) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<5x3xf32>
    %21 = "stablehlo.divide"(%20, %17) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %22 = "stablehlo.multiply"(%20, %18) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %23 = "stablehlo.divide"(%22, %17) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %24 = "stablehlo.negate"(%23) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %25 = "stablehlo.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
    %29 = "stablehlo.reduce"(%24, %25) ({
    ^bb0(%26: tensor<f32>, %27: tensor<f32>):
      %28 = "stablehlo.add"(%26, %27) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%28) : (tensor<f32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<5x3xf32>, tensor<f32>) -> tensor<5xf32>
    %30 = "stablehlo.reshape"(%29) : (tensor<5xf32>) -> tensor<5x1xf32>
    %31 = "stablehlo.reshape"(%30) : (tensor<5x1xf32>) -> tensor<5xf32>
    %32 = "stablehlo.broadcast_in_dim"(%31) {broadcast_dimensions = array<i64: 0>} : (tensor<5xf32>) -> tensor<5x3xf32>
    %33 = "stablehlo.add"(%21, %32) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %34 = "stablehlo.multiply"(%33, %10) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %35 = "stablehlo.constant"() {value = dense<1.0> : tensor<5x3xf32>} : () -> tensor<5x3xf32>
    %36 = "stablehlo.multiply"(%1, %1) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %37 = "stablehlo.subtract"(%35, %36) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %38 = "stablehlo.multiply"(%34, %37) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<5x3xf32>
    %39 = "stablehlo.dot_general"(%38, %arg1) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [0]>} : (tensor<5x3xf32>, tensor<5x4xf32>) -> tensor<3x4xf32>
    %40 = "stablehlo.transpose"(%39) {permutation = array<i64: 1, 0>} : (tensor<3x4xf32>) -> tensor<4x3xf32>
    "func.return"(%40) : (tensor<4x3xf32>) -> ()
  }
}
