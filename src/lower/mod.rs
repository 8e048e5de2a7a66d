//! Lowering: checked program → DataFusion LogicalPlan.
