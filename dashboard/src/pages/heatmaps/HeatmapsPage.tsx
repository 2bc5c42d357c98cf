import { ComingSoon } from '../../components/ComingSoon';

export default function HeatmapsPage() {
  return <ComingSoon title="Heatmaps" />;
}
