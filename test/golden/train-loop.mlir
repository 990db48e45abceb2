module @train_step attributes {mhlo.num_replicas = 2 : i32, mhlo.num_partitions = 1 : i32} {
  func.func public @main(%arg0: tensor<3x4xf32> {tf.aliasing_output = 0 : i32}, %arg1: tensor<4xf32> {tf.aliasing_output = 1 : i32}, %arg2: tensor<2x5x3xf32>, %arg3: tensor<2x5xi32>, %arg4: tensor<2xi64>) -> (tensor<3x4xf32>, tensor<4xf32>, tensor<2xi64>) {
    %0 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
    %125:6 = "stablehlo.while"(%0, %arg0, %arg1, %arg4, %arg2, %arg3) ({
    ^bb0(%1: tensor<i32>, %2: tensor<3x4xf32>, %3: tensor<4xf32>, %4: tensor<2xi64>, %5: tensor<2x5x3xf32>, %6: tensor<2x5xi32>):
      %7 = "stablehlo.constant"() {value = dense<2> : tensor<i32>} : () -> tensor<i32>
      %8 = "stablehlo.compare"(%1, %7) {comparison_direction = #stablehlo<comparison_direction LT>, compare_type = #stablehlo<comparison_type SIGNED>} : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%8) : (tensor<i1>) -> ()
    }, {
    ^bb0(%9: tensor<i32>, %10: tensor<3x4xf32>, %11: tensor<4xf32>, %12: tensor<2xi64>, %13: tensor<2x5x3xf32>, %14: tensor<2x5xi32>):
      %15 = "stablehlo.constant"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>
      %16 = "stablehlo.add"(%9, %15) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      %17 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
      %18 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
      %19 = "stablehlo.dynamic_slice"(%13, %9, %17, %18) {slice_sizes = array<i64: 1, 5, 3>} : (tensor<2x5x3xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<1x5x3xf32>
      %20 = "stablehlo.reshape"(%19) : (tensor<1x5x3xf32>) -> tensor<5x3xf32>
      %21 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
      %22 = "stablehlo.dynamic_slice"(%14, %9, %21) {slice_sizes = array<i64: 1, 5>} : (tensor<2x5xi32>, tensor<i32>, tensor<i32>) -> tensor<1x5xi32>
      %23 = "stablehlo.reshape"(%22) : (tensor<1x5xi32>) -> tensor<5xi32>
      %24 = "stablehlo.dot_general"(%20, %10) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>} : (tensor<5x3xf32>, tensor<3x4xf32>) -> tensor<5x4xf32>
      %25 = "stablehlo.broadcast_in_dim"(%11) {broadcast_dimensions = array<i64: 1>} : (tensor<4xf32>) -> tensor<5x4xf32>
      %26 = "stablehlo.add"(%24, %25) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %27 = "stablehlo.constant"() {value = dense<0.5> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %28 = "stablehlo.multiply"(%26, %27) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %29 = "stablehlo.constant"() {value = dense<0.7071067690849304> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %30 = "stablehlo.multiply"(%26, %29) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %31 = "chlo.erf"(%30) : (tensor<5x4xf32>) -> tensor<5x4xf32>
      %32 = "stablehlo.constant"() {value = dense<1.0> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %33 = "stablehlo.add"(%32, %31) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %34 = "stablehlo.multiply"(%28, %33) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %35 = "stablehlo.bitcast_convert"(%12) : (tensor<2xi64>) -> tensor<2xui64>
      %36:2 = "stablehlo.rng_bit_generator"(%35) {rng_algorithm = #stablehlo<rng_algorithm THREE_FRY>} : (tensor<2xui64>) -> (tensor<2xui64>, tensor<5x4xui32>)
      %37 = "stablehlo.bitcast_convert"(%36#0) : (tensor<2xui64>) -> tensor<2xi64>
      %38 = "stablehlo.constant"() {value = dense<429496730> : tensor<5x4xui32>} : () -> tensor<5x4xui32>
      %39 = "stablehlo.compare"(%36#1, %38) {comparison_direction = #stablehlo<comparison_direction GE>, compare_type = #stablehlo<comparison_type UNSIGNED>} : (tensor<5x4xui32>, tensor<5x4xui32>) -> tensor<5x4xi1>
      %40 = "stablehlo.constant"() {value = dense<0.8999999761581421> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %41 = "stablehlo.divide"(%34, %40) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %42 = "stablehlo.constant"() {value = dense<0.0> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %43 = "stablehlo.select"(%39, %41, %42) : (tensor<5x4xi1>, tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %44 = "stablehlo.iota"() {iota_dimension = 1 : i64} : () -> tensor<5x4xi32>
      %45 = "stablehlo.reshape"(%23) : (tensor<5xi32>) -> tensor<5x1xi32>
      %46 = "stablehlo.broadcast_in_dim"(%45) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<5x1xi32>) -> tensor<5x4xi32>
      %47 = "stablehlo.compare"(%44, %46) {comparison_direction = #stablehlo<comparison_direction EQ>, compare_type = #stablehlo<comparison_type SIGNED>} : (tensor<5x4xi32>, tensor<5x4xi32>) -> tensor<5x4xi1>
      %48 = "stablehlo.convert"(%47) : (tensor<5x4xi1>) -> tensor<5x4xf32>
      %49 = "stablehlo.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
      %53 = "stablehlo.reduce"(%43, %49) ({
      ^bb0(%50: tensor<f32>, %51: tensor<f32>):
        %52 = "stablehlo.maximum"(%50, %51) : (tensor<f32>, tensor<f32>) -> tensor<f32>
        "stablehlo.return"(%52) : (tensor<f32>) -> ()
      }) {dimensions = array<i64: 1>} : (tensor<5x4xf32>, tensor<f32>) -> tensor<5xf32>
      %54 = "stablehlo.reshape"(%53) : (tensor<5xf32>) -> tensor<5x1xf32>
      %55 = "stablehlo.broadcast_in_dim"(%54) {broadcast_dimensions = array<i64: 0, 1>} : (tensor<5x1xf32>) -> tensor<5x4xf32>
      %56 = "stablehlo.subtract"(%43, %55) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %57 = "stablehlo.exponential"(%56) : (tensor<5x4xf32>) -> tensor<5x4xf32>
      %58 = "stablehlo.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
      %62 = "stablehlo.reduce"(%57, %58) ({
      ^bb0(%59: tensor<f32>, %60: tensor<f32>):
        %61 = "stablehlo.add"(%59, %60) : (tensor<f32>, tensor<f32>) -> tensor<f32>
        "stablehlo.return"(%61) : (tensor<f32>) -> ()
      }) {dimensions = array<i64: 1>} : (tensor<5x4xf32>, tensor<f32>) -> tensor<5xf32>
      %63 = "stablehlo.reshape"(%62) : (tensor<5xf32>) -> tensor<5x1xf32>
      %64 = "stablehlo.constant"() {value = dense<5.0> : tensor<f32>} : () -> tensor<f32>
      %65 = "stablehlo.constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
      %66 = "stablehlo.divide"(%65, %64) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      %67 = "stablehlo.broadcast_in_dim"(%66) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<5xf32>
      %68 = "stablehlo.negate"(%67) : (tensor<5xf32>) -> tensor<5xf32>
      %69 = "stablehlo.broadcast_in_dim"(%68) {broadcast_dimensions = array<i64: 0>} : (tensor<5xf32>) -> tensor<5x4xf32>
      %70 = "stablehlo.multiply"(%69, %48) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %71 = "stablehlo.negate"(%70) : (tensor<5x4xf32>) -> tensor<5x4xf32>
      %72 = "stablehlo.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
      %76 = "stablehlo.reduce"(%71, %72) ({
      ^bb0(%73: tensor<f32>, %74: tensor<f32>):
        %75 = "stablehlo.add"(%73, %74) : (tensor<f32>, tensor<f32>) -> tensor<f32>
        "stablehlo.return"(%75) : (tensor<f32>) -> ()
      }) {dimensions = array<i64: 1>} : (tensor<5x4xf32>, tensor<f32>) -> tensor<5xf32>
      %77 = "stablehlo.reshape"(%76) : (tensor<5xf32>) -> tensor<5x1xf32>
      %78 = "stablehlo.divide"(%77, %63) : (tensor<5x1xf32>, tensor<5x1xf32>) -> tensor<5x1xf32>
      %79 = "stablehlo.reshape"(%78) : (tensor<5x1xf32>) -> tensor<5xf32>
      %80 = "stablehlo.broadcast_in_dim"(%79) {broadcast_dimensions = array<i64: 0>} : (tensor<5xf32>) -> tensor<5x4xf32>
      %81 = "stablehlo.multiply"(%80, %57) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %82 = "stablehlo.add"(%70, %81) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %83 = "stablehlo.constant"() {value = dense<0.0> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %84 = "stablehlo.select"(%39, %82, %83) : (tensor<5x4xi1>, tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %85 = "stablehlo.divide"(%84, %40) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %86 = "stablehlo.multiply"(%85, %33) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %87 = "stablehlo.multiply"(%85, %28) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %88 = "stablehlo.constant"() {value = dense<1.128379225730896> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
      %89 = "stablehlo.multiply"(%30, %30) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %90 = "stablehlo.negate"(%89) : (tensor<5x4xf32>) -> tensor<5x4xf32>
      %91 = "stablehlo.exponential"(%90) : (tensor<5x4xf32>) -> tensor<5x4xf32>
      %92 = "stablehlo.multiply"(%88, %91) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %93 = "stablehlo.multiply"(%87, %92) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %94 = "stablehlo.multiply"(%93, %29) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %95 = "stablehlo.multiply"(%86, %27) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %96 = "stablehlo.add"(%94, %95) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
      %97 = "stablehlo.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
      %101 = "stablehlo.reduce"(%96, %97) ({
      ^bb0(%98: tensor<f32>, %99: tensor<f32>):
        %100 = "stablehlo.add"(%98, %99) : (tensor<f32>, tensor<f32>) -> tensor<f32>
        "stablehlo.return"(%100) : (tensor<f32>) -> ()
      }) {dimensions = array<i64: 0>} : (tensor<5x4xf32>, tensor<f32>) -> tensor<4xf32>
      %102 = "stablehlo.dot_general"(%96, %20) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [0]>} : (tensor<5x4xf32>, tensor<5x3xf32>) -> tensor<4x3xf32>
      %103 = "stablehlo.transpose"(%102) {permutation = array<i64: 1, 0>} : (tensor<4x3xf32>) -> tensor<3x4xf32>
      %104 = "stablehlo.bitcast_convert"(%12) : (tensor<2xi64>) -> tensor<2xui64>
      %105:2 = "stablehlo.rng_bit_generator"(%104) {rng_algorithm = #stablehlo<rng_algorithm THREE_FRY>} : (tensor<2xui64>) -> (tensor<2xui64>, tensor<ui32>)
      %106 = "stablehlo.bitcast_convert"(%105#0) : (tensor<2xui64>) -> tensor<2xi64>
      %110 = "stablehlo.all_reduce"(%103) ({
      ^bb0(%107: tensor<f32>, %108: tensor<f32>):
        %109 = "stablehlo.add"(%107, %108) : (tensor<f32>, tensor<f32>) -> tensor<f32>
        "stablehlo.return"(%109) : (tensor<f32>) -> ()
      }) {replica_groups = dense<[[0, 1]]> : tensor<1x2xi64>} : (tensor<3x4xf32>) -> tensor<3x4xf32>
      %111 = "stablehlo.constant"() {value = dense<2.0> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
      %112 = "stablehlo.divide"(%110, %111) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
      %113 = "stablehlo.constant"() {value = dense<0.10000000149011612> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
      %114 = "stablehlo.multiply"(%112, %113) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
      %115 = "stablehlo.subtract"(%10, %114) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
      %119 = "stablehlo.all_reduce"(%101) ({
      ^bb0(%116: tensor<f32>, %117: tensor<f32>):
        %118 = "stablehlo.add"(%116, %117) : (tensor<f32>, tensor<f32>) -> tensor<f32>
        "stablehlo.return"(%118) : (tensor<f32>) -> ()
      }) {replica_groups = dense<[[0, 1]]> : tensor<1x2xi64>} : (tensor<4xf32>) -> tensor<4xf32>
      %120 = "stablehlo.constant"() {value = dense<2.0> : tensor<4xf32>} : () -> tensor<4xf32>
      %121 = "stablehlo.divide"(%119, %120) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      %122 = "stablehlo.constant"() {value = dense<0.10000000149011612> : tensor<4xf32>} : () -> tensor<4xf32>
      %123 = "stablehlo.multiply"(%121, %122) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      %124 = "stablehlo.subtract"(%11, %123) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      "stablehlo.return"(%16, %115, %124, %106, %13, %14) : (tensor<i32>, tensor<3x4xf32>, tensor<4xf32>, tensor<2xi64>, tensor<2x5x3xf32>, tensor<2x5xi32>) -> ()
    }) : (tensor<i32>, tensor<3x4xf32>, tensor<4xf32>, tensor<2xi64>, tensor<2x5x3xf32>, tensor<2x5xi32>) -> (tensor<i32>, tensor<3x4xf32>, tensor<4xf32>, tensor<2xi64>, tensor<2x5x3xf32>, tensor<2x5xi32>)
    "func.return"(%125#1, %125#2, %125#3) : (tensor<3x4xf32>, tensor<4xf32>, tensor<2xi64>) -> ()
  }
}
