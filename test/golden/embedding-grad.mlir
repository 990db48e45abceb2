module @traced attributes {mhlo.num_replicas = 1 : i32, mhlo.num_partitions = 1 : i32} {
  func.func public @main(%arg0: tensor<6x2xf64>, %arg1: tensor<3xi32>) -> tensor<6x2xf64> {
    %0 = "stablehlo.gather"(%arg0, %arg1) {dimension_numbers = #stablehlo.gather<offset_dims = [1], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1>, slice_sizes = array<i64: 1, 2>, indices_are_sorted = false} : (tensor<6x2xf64>, tensor<3xi32>) -> tensor<3x2xf64>
    %1 = "stablehlo.constant"() {value = dense<1.0> : tensor<f64>} : () -> tensor<f64>
    %2 = "stablehlo.broadcast_in_dim"(%1) {broadcast_dimensions = array<i64>} : (tensor<f64>) -> tensor<3x2xf64>
    %3 = "stablehlo.multiply"(%2, %0) : (tensor<3x2xf64>, tensor<3x2xf64>) -> tensor<3x2xf64>
    %4 = "stablehlo.multiply"(%2, %0) : (tensor<3x2xf64>, tensor<3x2xf64>) -> tensor<3x2xf64>
    %5 = "stablehlo.add"(%3, %4) : (tensor<3x2xf64>, tensor<3x2xf64>) -> tensor<3x2xf64>
    %6 = "stablehlo.constant"() {value = dense<0.0> : tensor<6x2xf64>} : () -> tensor<6x2xf64>
    %10 = "stablehlo.scatter"(%6, %arg1, %5) ({
    ^bb0(%7: tensor<f64>, %8: tensor<f64>):
      %9 = "stablehlo.add"(%7, %8) : (tensor<f64>, tensor<f64>) -> tensor<f64>
      "stablehlo.return"(%9) : (tensor<f64>) -> ()
    }) {scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [1], inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], index_vector_dim = 1>, indices_are_sorted = false, unique_indices = false} : (tensor<6x2xf64>, tensor<3xi32>, tensor<3x2xf64>) -> tensor<6x2xf64>
    "func.return"(%10) : (tensor<6x2xf64>) -> ()
  }
}
